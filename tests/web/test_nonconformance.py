"""A party's aircraft outside its active operations in the console: one alert that lists them, a
ring on each, updated as they come back, against a real ``deconline serve`` in Chromium."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.web.conftest import Site, needs_browser, square
from tests.web.test_console import post, signed_in

pytestmark = needs_browser
INSIDE, OUTSIDE = (25.0, 60.0), (27.0, 61.0)


def _reports(ids: list[str], where: tuple[float, float]) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    common = {"alt_m": 3000.0, "gs_mps": 60.0, "track_deg": 0.0, "vrate_mps": 0.0, "time": now}
    return {"tracks": [{"id": i, "lon": where[0] + k * 0.01, "lat": where[1], **common} for k, i in enumerate(ids)]}


def test_aircraft_outside_their_operation_are_one_alert_listing_them(browser: Any, site: Site) -> None:
    now = datetime.now(UTC)
    volume = {
        "footprint": {"type": "Polygon", "coordinates": [square(*INSIDE, 0.5)]},
        "lower_m": 0.0,
        "upper_m": 5000.0,
        "start": (now - timedelta(minutes=10)).isoformat(),
        "end": (now + timedelta(hours=2)).isoformat(),
    }
    filed = post(site, "bravo", "/v1/operations", {"name": "bravo survey", "volumes": [volume]})
    post(site, "bravo", f"/v1/operations/{filed['id']}/state", {"version": filed["version"], "state": "active"})
    bravo = signed_in(browser, site, "bravo")
    aircraft = [f"B{k:02d}" for k in range(1, 13)]
    post(site, "bravo", "/v1/tracks", _reports(aircraft, OUTSIDE))

    alert = bravo.page.locator("#panel-alerts [data-alert-id]").first
    alert.wait_for(timeout=5000)
    assert "12 aircraft outside their operations: B01, B02, B03, B04, B05 and 7 more" in (alert.text_content() or "")
    assert bravo.page.locator("#panel-alerts [data-alert-id]").count() == 1
    bravo.page.wait_for_function("() => window.deconline.ctx.map.rings.getFeatures().length === 12", timeout=3000)
    screenshots = os.environ.get("DECONLINE_SCREENSHOT_DIR")
    if screenshots:
        bravo.page.evaluate("() => window.deconline.ctx.map.centreOn(27.06, 61.0, 9)")
        bravo.page.wait_for_timeout(1200)
        bravo.page.screenshot(path=str(Path(screenshots) / "nonconformance.png"))

    post(site, "bravo", "/v1/tracks", _reports(aircraft[:10], INSIDE))  # ten come back: two left outside
    bravo.page.get_by_text("2 aircraft outside their operations: B11, B12").wait_for(timeout=5000)
    post(site, "bravo", "/v1/tracks", _reports(aircraft[10:], INSIDE))
    bravo.page.get_by_text("all aircraft back in their operations").wait_for(timeout=5000)
    bravo.assert_clean()
    bravo.page.context.close()
