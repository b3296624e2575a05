"""/docs renders in a real browser with no internet: headless Chromium, the page's own JavaScript."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import make_world, server
from tests.web.conftest import CHROMIUM_FLAGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [*CHROMIUM_FLAGS, "--headless", "--virtual-time-budget=10000"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_swagger_ui_renders_the_operations(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    make_world(db_url).line.db.dispose()
    with server(db_url) as url:
        result = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", f"{url}/docs"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    dom = result.stdout
    assert "swagger-ui" in dom
    # These strings exist only once Swagger UI has fetched /openapi.json and rendered it.
    assert "/v1/operations/{op_id}/check" in dom, dom[-2000:]
    assert "File Operation" in dom
