"""Guidance and the coordinated resolution in the console, on the demo's converging tanker: SHELL71
(orange-af) closing on VIPER11 (blue-af), both fed live as ``make run`` feeds them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.web.conftest import DemoSite, Watched, needs_browser, open_console, sign_in

pytestmark = needs_browser


def signed_in(browser: Any, site: DemoSite, party: str) -> Watched:
    watched = open_console(browser, site.url)
    sign_in(watched, site.tokens[party], site.keys[party])
    watched.page.wait_for_function("() => window.deconline.received.some((e) => e.type === 'ready')", timeout=15_000)
    return watched


def statuses(locator: Any) -> set[str]:
    found: list[str] = locator.locator(".gd-sector").evaluate_all("(els) => els.map((e) => e.dataset.status)")
    return set(found)


def test_the_rose_shows_free_and_conflicting_tracks_for_the_converging_tanker(
    browser: Any, demo_site: DemoSite
) -> None:
    blue = signed_in(browser, demo_site, "blue-af")
    page = blue.page
    alert = page.locator("#panel-alerts [data-alert-id]", has_text="VIPER11").first
    alert.wait_for(timeout=10_000)
    assert "orange-af SHELL71" in (alert.text_content() or "")
    alert.locator(".alert-button").click()  # selected: its guidance opens (and the map centres on it)
    assert alert.locator(".alert-button").get_attribute("aria-expanded") == "true"
    rose = alert.locator("svg[data-guidance='rose']")
    rose.wait_for(timeout=6000)
    # turning towards the tanker conflicts, turning away is free: both on the rose, hatched apart
    assert {"free", "conflict"} <= statuses(rose)
    assert rose.locator(".gd-current").count() == 1  # the current track is marked
    hatched = rose.locator(".gd-sector[data-status='conflict']").first.get_attribute("fill") or ""
    assert hatched.startswith("url(#") and hatched.endswith("-hatch)")  # not colour alone
    # the tape: the tanker's level is 100 m below, so the current level conflicts and others are free
    assert {"free", "conflict"} <= statuses(alert.locator("svg[data-guidance='tape']"))
    # the same as text: the free ranges of each dimension
    track_text = alert.locator("dd[data-dim='track_deg']").inner_text()
    assert "free" in track_text and "conflict" in track_text and "°" in track_text
    assert "free FL" in alert.locator("dd[data-dim='alt_m']").inner_text()
    assert "Track" in (rose.get_attribute("aria-label") or "")

    # the selected aircraft shows the same guidance
    page.get_by_role("tab", name="Aircraft").click()
    page.locator("#panel-aircraft tr[data-track='VIPER11']").click()
    panel_rose = page.locator("#panel-aircraft .selected-guidance svg[data-guidance='rose']")
    panel_rose.wait_for(timeout=5000)
    assert {"free", "conflict"} <= statuses(panel_rose)
    assert "SHELL71" in page.locator("#panel-aircraft .selected-guidance h3").inner_text()

    screenshots = os.environ.get("DECONLINE_SCREENSHOT_DIR")
    if screenshots:
        page.set_viewport_size({"width": 1200, "height": 800})
        page.get_by_role("tab", name="Alerts").click()
        alert.locator(".alert-button").click()
        alert.locator(".resolution").wait_for(timeout=10_000)
        page.wait_for_timeout(1500)
        page.evaluate("() => document.getElementById('toasts').replaceChildren()")  # the picture, not the news
        page.screenshot(path=str(Path(screenshots) / "console-guidance.png"))
    blue.assert_clean()
    page.context.close()


def test_both_sides_accept_a_resolution_by_click_and_see_each_others_answer_live(
    browser: Any, demo_site: DemoSite
) -> None:
    """The warning between two parties brings each side its own manoeuvre and the sense asked of
    the other; each accepts by a click and sees the other's answer without reloading."""
    blue = signed_in(browser, demo_site, "blue-af")
    orange = signed_in(browser, demo_site, "orange-af")
    sides = {"blue-af": (blue, "VIPER11", "orange-af"), "orange-af": (orange, "SHELL71", "blue-af")}
    senses = {}
    for party, (watched, own, other) in sides.items():
        alert = watched.page.locator("#panel-alerts [data-alert-id]", has_text=own).first
        proposal = alert.locator(".resolution")
        proposal.wait_for(timeout=15_000)
        text = proposal.locator(".res-text").inner_text()
        assert f"{other} is asked to" in text, text
        senses[party] = text.split(" is asked to ")[1].rstrip(".")
        assert proposal.locator("[data-side='other']").inner_text().endswith(f"{other}: not answered yet")
    # one resolution told from both sides: each is asked what the other is told it is asked
    own_of = {p: sides[p][0].page.locator(".resolution .res-own").first.inner_text().lower() for p in sides}
    assert own_of["blue-af"].startswith(senses["orange-af"].split(" (")[0]), (own_of, senses)
    assert own_of["orange-af"].startswith(senses["blue-af"].split(" (")[0]), (own_of, senses)

    for party, (watched, _, other) in sides.items():
        watched.page.locator(".resolution").first.get_by_role("button", name="Accept").click()
        watched.page.locator(".resolution [data-side='own']", has_text="You: accepted").wait_for(timeout=5000)
        counterpart = sides[other][0]
        counterpart.page.locator(".resolution [data-side='other']", has_text=f"{party}: accepted").wait_for(
            timeout=5000
        )  # live, from the resolution event: no reload
    for watched, _, _ in sides.values():
        watched.page.locator(".resolution .res-outcome", has_text="Both sides accepted").wait_for(timeout=5000)
        assert watched.page.locator(".resolution").first.get_by_role("button", name="Accept").count() == 0
        watched.assert_clean()
        watched.page.context.close()
