"""The API documentation works offline, and the migrations build exactly the mapped schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from deconline.store.models import Base
from tests.helpers import World


def test_docs_are_served_from_local_files(world: World) -> None:
    page = world.client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    for line in page.text.splitlines():
        if "src=" in line or "href=" in line:
            assert "http" not in line.split("=", 1)[1].split()[0], line
    js = world.client.get("/static-offline-docs/swagger-ui-bundle.js")
    css = world.client.get("/static-offline-docs/swagger-ui.css")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert css.status_code == 200
    spec = world.client.get("/openapi.json").json()
    assert "/v1/operations" in spec["paths"] and "/v1/agreements/{version}/signatures" in spec["paths"]


def test_migrations_match_the_models(world: World) -> None:
    with world.line.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
