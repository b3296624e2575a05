"""Accessibility basics: every control has a name, the panels are reachable by keyboard."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Site, needs_browser, open_console, sign_in

pytestmark = needs_browser

UNNAMED = """() => {
  const named = (e) => (e.getAttribute('aria-label') || e.textContent || '').trim() ||
    (e.id && document.querySelector(`label[for="${e.id}"]`)) || e.closest('label');
  return [...document.querySelectorAll('button, input, select, textarea')]
    .filter((e) => e.offsetParent !== null && e.type !== 'hidden' && !named(e))
    .map((e) => e.outerHTML.slice(0, 120));
}"""


def test_every_visible_control_has_a_name_and_tabs_follow_the_keyboard(browser: Any, site: Site) -> None:
    watched = open_console(browser, site.url)
    page = watched.page
    assert page.evaluate(UNNAMED) == []  # the sign-in form
    sign_in(watched, site.tokens["charlie"], site.keys["charlie"])
    page.locator("#console").wait_for()
    for name in ("Alerts", "Hotline", "Plans", "Aircraft", "Agreement", "Record"):
        page.get_by_role("tab", name=name).click()
        page.wait_for_timeout(300)
        assert page.evaluate(UNNAMED) == [], name
    page.get_by_role("tab", name="Alerts").focus()
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("tab", name="Hotline").get_attribute("aria-selected") == "true"
    assert page.locator("#panel-hotline").is_visible()
    # a list that redraws every second (deadlines counting down) keeps the keyboard focus
    page.locator("#panel-hotline [data-message-id] button").first.wait_for()
    page.locator("#panel-hotline [data-message-id] button").first.focus()
    focused = page.evaluate("() => document.activeElement.closest('[data-message-id]').dataset.messageId")
    page.wait_for_timeout(2500)
    assert page.evaluate("() => document.activeElement.closest('[data-message-id]')?.dataset.messageId") == focused
    watched.assert_clean()
    watched.page.context.close()
