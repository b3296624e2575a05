from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import World, make_world


@pytest.fixture
def bare_world(db_url: str) -> Iterator[World]:
    """Parties registered, no agreement yet."""
    w = make_world(db_url, with_agreement=False)
    yield w
    w.line.db.dispose()
