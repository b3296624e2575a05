"""The CLI starts without the heavy libraries (issue 14): checked by what is imported, never by time."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deconline.cli.common import DEFAULT_DB_URL

HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "pydantic",
    "numpy",
    "scipy",
    "shapely",
    "pyproj",
    "httpx",
    "uvicorn",
    "yaml",
    "cryptography",
    "deconline.service",
    "deconline.store",
    "deconline.client",
    "deconline.core",
    "deconline.record",
)


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_cli_and_building_its_commands_imports_nothing_heavy() -> None:
    # A fresh interpreter: the test process has imported everything already.
    script = (
        "import sys, typer, deconline.cli\n"
        "typer.main.get_command(deconline.cli.app)  # evaluates every command's annotations\n"
        "print('\\n'.join(sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert _heavy(set(done.stdout.split())) == []


def _imported_by(*args: str) -> set[str]:
    """The modules ``python -m deconline ARGS`` imports, read off ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "deconline", *args], capture_output=True, text=True, check=True
    )
    assert "Usage" in done.stdout
    # -X importtime writes "import time: self | cumulative | <indent>module" to stderr, one line per import
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "typer" in imported and "deconline.cli.common" in imported  # the parsing works
    return imported


def test_help_imports_nothing_heavy() -> None:
    assert _heavy(_imported_by("--help")) == []


@pytest.mark.parametrize("args", [["op", "--help"], ["record", "verify", "--help"], ["replay", "--help"]])
def test_a_command_s_help_imports_nothing_heavy_of_ours(args: list[str]) -> None:
    # Below the top level typer coerces the global options' values with pydantic TypeAdapters (typer's
    # own import); nothing else heavy may come in.
    assert [m for m in _heavy(_imported_by(*args)) if m.split(".")[0] != "pydantic"] == []


def test_the_default_database_is_the_store_s() -> None:
    from deconline.store.db import DEFAULT_URL

    assert DEFAULT_DB_URL == DEFAULT_URL
