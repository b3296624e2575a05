"""The console end to end in Chromium, against a real ``deconline serve``: two parties in two
browser contexts, a third that sees none of it, live alerts, and a stream cut and restored."""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from deconline.record.actions import action_for
from deconline.record.envelope import PAYLOAD_TYPE, SIGNATURE_HEADER, seal
from deconline.record.signing import read_private_key, sign_document
from tests.web.conftest import PATROL_CENTRE, Site, Watched, needs_browser, open_console, sign_in, square
from tests.web.proxy import CuttableProxy

pytestmark = needs_browser
EARTH = 6_371_000.0


def signed_in(browser: Any, site: Site, party: str, url: str | None = None) -> Watched:
    watched = open_console(browser, url or site.url)
    sign_in(watched, site.tokens[party], site.keys[party])
    watched.page.wait_for_function("() => window.deconline.received.some((e) => e.type === 'ready')", timeout=15_000)
    return watched


def tab(watched: Watched, name: str) -> None:
    watched.page.get_by_role("tab", name=name).click()


def post(site: Site, party: str, path: str, body: Any) -> dict[str, Any]:
    key = read_private_key(site.keys[party])
    auth = {"Authorization": f"Bearer {site.tokens[party]}"}
    line_id = httpx.get(site.url + "/v1/whoami", headers=auth, timeout=10).json()["line"]
    action = action_for("POST", path)
    assert action is not None
    sealed = seal(key, line_id, action, body)
    headers = {**auth, SIGNATURE_HEADER: sealed.signature, "Content-Type": PAYLOAD_TYPE}
    response = httpx.post(site.url + path, content=sealed.statement, headers=headers, timeout=10)
    assert response.status_code < 300, response.text
    result: dict[str, Any] = response.json()
    return result


def draw_polygon(watched: Watched, corners: list[list[float]]) -> None:
    """Click each corner on the map canvas (the last one twice), as a person would."""
    page = watched.page
    lon, lat = corners[0]
    page.evaluate(
        "([lon, lat]) => window.deconline.ctx.map.map.getView().setCenter(ol.proj.fromLonLat([lon, lat]))", [lon, lat]
    )
    page.evaluate("() => window.deconline.ctx.map.map.getView().setZoom(8)")
    page.wait_for_timeout(300)
    box = page.locator("#map").bounding_box()
    assert box is not None
    pixels = page.evaluate(
        "(points) => points.map((p) => window.deconline.ctx.map.map.getPixelFromCoordinate(ol.proj.fromLonLat(p)))",
        corners,
    )
    for k, (x, y) in enumerate(pixels):
        if k == len(pixels) - 1:
            page.mouse.dblclick(box["x"] + x, box["y"] + y)
        else:
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_timeout(150)


def test_file_by_drawing_request_acknowledge_answer_live(browser: Any, site: Site) -> None:
    charlie = signed_in(browser, site, "charlie")
    alpha = signed_in(browser, site, "alpha")
    delta = signed_in(browser, site, "delta")
    tab(alpha, "Hotline")

    # charlie draws an operation over alpha's accepted patrol: proposed, with a notice
    tab(charlie, "Plans")
    page = charlie.page
    page.get_by_label("Name").fill("charlie survey")
    page.get_by_label("Lower (m)").fill("2000")
    page.get_by_label("Upper (m)").fill("4000")
    page.get_by_role("button", name="Draw polygon").click()
    lon, lat = PATROL_CENTRE
    draw_polygon(charlie, square(lon + 0.1, lat, 0.1)[:4])
    page.get_by_text("Polygon of 4 corners").wait_for()
    page.get_by_role("button", name="File operation").click()
    page.get_by_text("proposed with 1 conflict notice").wait_for()
    notice = page.locator("[data-notice-id]").first
    assert "conflict with alpha" in (notice.text_content() or "")
    assert page.evaluate("window.deconline.ctx.map.notices.getFeatures().length") == 1  # hatched on the map
    # alpha, whose patrol was there first, is told at once, about its own patrol
    alpha.page.get_by_text("New conflict notice on your operation").first.wait_for(timeout=5000)
    alpha.page.locator("#panel-hotline [data-message-id]", has_text="from service").first.wait_for(timeout=5000)

    # charlie asks alpha from the notice
    notice.get_by_role("button", name="Request deconfliction").click()
    page.get_by_label("Text").fill("Could you hold your patrol north of 57.2 for an hour?")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("message sent").wait_for()

    # alpha sees it appear live, opens it, acknowledges by a click, answers
    requests = alpha.page.locator("#panel-hotline [data-message-id]", has_text="deconfliction request")
    row = requests.filter(has_text="from charlie").first  # not the service's notice, which names the remedy
    row.wait_for(timeout=5000)
    assert "from charlie" in (row.text_content() or "")
    row.get_by_role("button").click()
    alpha.page.get_by_role("button", name="Acknowledge").click()
    alpha.page.get_by_text("acknowledged deconfliction request from charlie").wait_for()
    alpha.page.get_by_role("button", name="Accept").click()
    alpha.page.get_by_text("accept sent to charlie").wait_for()

    # charlie sees the acknowledgement and the answer live
    outgoing = page.locator("#panel-hotline [data-message-id]", has_text="deconfliction request").first
    outgoing.get_by_text("acknowledged").wait_for(timeout=5000)
    page.get_by_role("button", name="Inbox").click()
    page.locator("#panel-hotline [data-message-id]", has_text="from alpha").first.wait_for(timeout=5000)

    # delta, a third party, sees none of it
    tab(delta, "Hotline")
    delta.page.wait_for_timeout(500)
    text = delta.page.locator("#panel-hotline").inner_text()
    assert "charlie" not in text.split("Line health")[0] and "from alpha" not in text
    tab(delta, "Plans")
    delta.page.get_by_text("No operations filed.").wait_for()
    assert delta.page.evaluate("window.deconline.ctx.map.notices.getFeatures().length") == 0
    assert delta.page.evaluate("window.deconline.ctx.map.operations.getFeatures().length") == 0
    for watched in (charlie, alpha, delta):
        watched.assert_clean()
        watched.page.context.close()


def head_on(site: Site, distance_m: float) -> None:
    """alpha's A1 and charlie's C1 flying at each other at 200 m/s, at the same altitude, now."""
    now = datetime.now(UTC).isoformat()
    lon0, lat0 = 20.0, 55.0
    dlon = math.degrees(distance_m / 2 / (EARTH * math.cos(math.radians(lat0))))
    common = {"alt_m": 6000.0, "gs_mps": 200.0, "vrate_mps": 0.0, "time": now}
    post(
        site,
        "alpha",
        "/v1/tracks",
        {"tracks": [{"id": "A1", "lat": lat0, "lon": lon0 - dlon, "track_deg": 90.0, **common}]},
    )
    post(
        site,
        "charlie",
        "/v1/tracks",
        {"tracks": [{"id": "C1", "lat": lat0, "lon": lon0 + dlon, "track_deg": 270.0, **common}]},
    )


def test_tracks_raise_a_confirmed_alert_on_the_map_and_panel_within_three_seconds(browser: Any, site: Site) -> None:
    """The service evaluates every second and shows an alert once two evaluations predicted it."""
    alpha = signed_in(browser, site, "alpha")
    delta = signed_in(browser, site, "delta")
    started = time.monotonic()
    head_on(site, 50_000)  # loss of separation in about 100 s: an advisory
    alert = alpha.page.locator("#panel-alerts [data-alert-id]").first
    alert.wait_for(timeout=3000)
    latency = time.monotonic() - started
    assert "ADVISORY" in (alert.text_content() or "") and "charlie C1" in (alert.text_content() or "")
    alpha.page.wait_for_function("() => window.deconline.ctx.map.rings.getFeatures().length >= 1", timeout=2000)
    assert alpha.page.locator("#badge-alerts").text_content() == "1"
    alert.get_by_role("button").click()  # centres the map on it
    alpha.page.wait_for_timeout(600)
    centre = alpha.page.evaluate("ol.proj.toLonLat(window.deconline.ctx.map.map.getView().getCenter())")
    assert abs(centre[0] - 20.0) < 1.0 and abs(centre[1] - 55.0) < 0.2  # on one of the pair
    # a warning: closer, so the predicted loss is within 60 s (colour, shape and text)
    head_on(site, 30_000)
    urgent = alpha.page.locator("#panel-alerts [data-level='warning']").first
    urgent.wait_for(timeout=3000)
    assert "WARNING" in (urgent.text_content() or "") and "▲" in (urgent.text_content() or "")
    assert alpha.page.locator("#badge-alerts").text_content() == "▲ 1"
    screenshots = os.environ.get("DECONLINE_SCREENSHOT_DIR")
    if screenshots:
        alpha.page.wait_for_timeout(1200)
        alpha.page.screenshot(path=str(Path(screenshots) / "console.png"))
    delta.page.wait_for_timeout(1000)
    delta.page.get_by_text("No active alerts.").wait_for()
    assert delta.page.evaluate("window.deconline.ctx.map.trackCount()") == 0
    print(f"alert on the panel {latency:.2f} s after the reports were acknowledged")
    for watched in (alpha, delta):
        watched.assert_clean()
        watched.page.context.close()


def test_a_page_whose_stream_is_cut_shows_the_events_of_the_gap(browser: Any, site: Site) -> None:
    port = int(site.url.rsplit(":", 1)[1])
    proxy = CuttableProxy(port)
    try:
        bravo = signed_in(browser, site, "bravo", url=proxy.url)
        tab(bravo, "Hotline")
        page = bravo.page
        page.wait_for_function("() => document.getElementById('stream-status').dataset.state === 'live'")
        before = page.evaluate("window.deconline.received.length")
        proxy.cut()
        page.wait_for_function(
            "() => document.getElementById('stream-status').dataset.state !== 'live'", timeout=10_000
        )
        body = {"recipients": ["bravo"], "kind": "notice", "references": [], "text": "sent during the gap"}
        gap = [post(site, "charlie", "/v1/messages", {**body, "text": f"gap message {k}"})["id"] for k in range(2)]
        page.wait_for_timeout(1000)
        proxy.restore()
        page.wait_for_function(
            f"() => window.deconline.received.slice({before}).filter((e) => e.type === 'message').length >= 2",
            timeout=20_000,
        )
        after = page.evaluate(f"() => window.deconline.received.slice({before})")
        assert [e["type"] for e in after] == ["message", "message"]  # replayed, not a resync
        for message_id in gap:
            page.locator(f"[data-message-id='{message_id}']").wait_for(timeout=5000)
        assert page.locator("#stream-status").get_attribute("data-state") == "live"
        network = ("net::ERR", "Failed to fetch", "status of 0")
        bravo.errors[:] = [e for e in bravo.errors if not any(n in e for n in network)]
        bravo.assert_clean()
        page.context.close()
    finally:
        proxy.close()


def test_unaffiliated_traffic_is_on_every_map_in_grey(browser: Any, site: Site) -> None:
    """charlie, named a surveillance provider, posts an aircraft of no party: delta sees it, grey."""
    from tests.web.conftest import AGREEMENT

    admin = {"Authorization": f"Bearer {site.tokens['admin']}"}
    proposal = dict(AGREEMENT, version=2, surveillance_providers=["charlie"])
    assert httpx.post(site.url + "/v1/agreements", json=proposal, headers=admin, timeout=10).status_code == 201
    for party in AGREEMENT["parties"]:
        headers = {"Authorization": f"Bearer {site.tokens[party]}"}
        document = httpx.get(site.url + "/v1/agreements/2", headers=headers, timeout=10).json()["document"]
        post(
            site,
            party,
            "/v1/agreements/2/signatures",
            {"signature": sign_document(read_private_key(site.keys[party]), document)},
        )
    delta = signed_in(browser, site, "delta")
    u1 = {"id": "U1", "lat": 55.5, "lon": 19.0, "alt_m": 3000.0, "gs_mps": 120.0, "track_deg": 45.0}
    post(
        site, "charlie", "/v1/tracks", {"tracks": [{**u1, "time": datetime.now(UTC).isoformat()}], "unaffiliated": True}
    )
    page = delta.page
    page.wait_for_function("() => window.deconline.ctx.map.trackList.some((t) => t.id === 'U1')", timeout=5000)
    centre = page.evaluate(
        """() => {
        const map = window.deconline.ctx.map;
        const sprite = map.painter.sprite[map.trackList.findIndex((t) => t.id === 'U1')];
        return [...sprite.getContext('2d').getImageData(10, 10, 1, 1).data];
      }"""
    )
    assert centre == [0x9A, 0xA3, 0xAD, 255]  # the neutral grey, whatever its altitude
    tab(delta, "Agreement")
    page.get_by_text("surveillance providers").wait_for()
    rules = page.locator("dl.rules").inner_text()
    assert "charlie" in rules.split("surveillance providers")[1]
    assert "advisory ≤ 120 s, held to 150 s" in rules and "2 of 4 evaluations" in rules  # a new version's criteria
    assert "vertical tolerance 60.96 m" in rules
    delta.assert_clean()
    page.context.close()
