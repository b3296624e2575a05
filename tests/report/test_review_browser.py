"""The review opens in a browser with nothing but the file: every figure loads, nothing is fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deconline.report.review_html import render
from deconline.service.actors import Actor
from deconline.service.review import review_data
from tests.helpers import make_world
from tests.report.scenario import END, START, build
from tests.web.conftest import SKIP

pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def test_every_figure_of_the_review_loads_offline(tmp_path: Path, browser: Any) -> None:
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    build(world)
    pages = {}
    for name, actor in (("alpha", Actor("party", "alpha", "allies")), ("admin", Actor("admin"))):
        pages[name] = tmp_path / f"{name}.html"
        pages[name].write_bytes(render(review_data(world.line, actor, START, END)))
    world.line.db.dispose()
    for name, expected in (("alpha", 4), ("admin", 3)):  # the admin's review has no map
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r, seen=requests: seen.append(r.url))
        page.on("console", lambda m, seen=errors: seen.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, seen=errors: seen.append(str(e)))
        page.goto(pages[name].as_uri())
        page.wait_for_load_state("load")
        images: list[dict[str, Any]] = page.eval_on_selector_all(
            "img",
            "els => els.map(e => ({w: e.naturalWidth, h: e.naturalHeight, done: e.complete, alt: e.alt}))",
        )
        assert len(images) == expected, images
        assert all(i["done"] and i["w"] > 0 and i["h"] > 0 and i["alt"] for i in images), images
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert errors == []
        headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        assert headings[0] == "1. Operations and conflicts" and headings[-1] == "6. The record"
        page.close()
