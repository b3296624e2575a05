"""Property-based fuzzing of every route from the OpenAPI document: no input may produce a 500.

Schemathesis generates valid and invalid requests for each operation; each is sent with a party
token (and the admin's for admin routes) to an app on a real SQLite database made for this module.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from deconline.api.app import create_app
from deconline.record.actions import action_for
from tests.helpers import box, make_world

_DIR = tempfile.TemporaryDirectory(prefix="deconline-fuzz-")
WORLD = make_world(f"sqlite:///{Path(_DIR.name) / 'line.db'}")
# Hundreds of requests a second with one token: without this, many would be 429s and test nothing else.
WORLD.client = TestClient(create_app(WORLD.line, rate_limit=None), raise_server_exceptions=False)
WORLD.file("alpha", box())
WORLD.file("charlie", box())
# The event stream stays open until the client leaves; it has its own tests.
schema = schemathesis.openapi.from_asgi("/openapi.json", WORLD.client.app).exclude(path="/v1/events")
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], allow_x00=True
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_produces_a_server_error(case: Any) -> None:
    who = "admin" if case.path == "/v1/parties" and case.method == "POST" else "alpha"
    headers = {"Authorization": f"Bearer {WORLD.tokens[who]}"}
    extra: dict[str, Any] = {}
    if who == "alpha" and isinstance(case.body, dict | list) and action_for(case.method, case.formatted_path):
        with contextlib.suppress(ValueError):  # bodies JCS cannot encode go unsigned (and are refused)
            request = WORLD.signed_request("alpha", case.method, case.formatted_path, case.body, WORLD.now_iso())
            headers, extra = request["headers"], {"data": request["content"]}
    response = case.call(headers=headers, **extra)
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
