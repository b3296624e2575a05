"""Signing in: a token and a key file, checked against the service, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.conftest import Site, needs_browser, open_console, sign_in

pytestmark = needs_browser


def error_after(browser: Any, site: Site, token: str, key: Path | None, *expected: int) -> str:
    watched = open_console(browser, site.url)
    sign_in(watched, token, key)
    error = watched.page.locator("#signin-error")
    watched.page.wait_for_function("() => document.getElementById('signin-error').textContent.length > 0")
    text: str = error.text_content() or ""
    assert watched.page.locator("#console").is_hidden()
    watched.assert_clean(expected)
    watched.page.context.close()
    return text


def test_wrong_token(browser: Any, site: Site) -> None:
    assert "does not know this token" in error_after(browser, site, "not-a-token", site.keys["alpha"], 401)


def test_wrong_key_file_names_the_party(browser: Any, site: Site) -> None:
    assert "not alpha's key" in error_after(browser, site, site.tokens["alpha"], site.keys["charlie"])


def test_a_file_that_is_not_a_key(browser: Any, site: Site, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    assert "not a PEM private key" in error_after(browser, site, site.tokens["alpha"], junk)


def test_a_party_must_bring_its_key(browser: Any, site: Site) -> None:
    assert "choose alpha's private key file" in error_after(browser, site, site.tokens["alpha"], None)


def test_roles_get_their_views_only(browser: Any, site: Site) -> None:
    auditor = open_console(browser, site.url)
    sign_in(auditor, site.tokens["auditor"], None)
    auditor.page.locator("#console").wait_for()
    tabs = auditor.page.get_by_role("tab").all_text_contents()
    assert [t.strip() for t in tabs] == ["Record"]
    assert auditor.page.locator("#map").is_hidden()
    admin = open_console(browser, site.url)
    sign_in(admin, site.tokens["admin"], None)
    admin.page.locator("#console").wait_for()
    assert [t.strip() for t in admin.page.get_by_role("tab").all_text_contents()] == ["Agreement", "Record"]
    for watched in (auditor, admin):
        watched.page.wait_for_timeout(500)
        watched.assert_clean()
        watched.page.context.close()


def test_the_token_is_never_in_a_url_and_no_cookie_is_set(browser: Any, site: Site) -> None:
    watched = open_console(browser, site.url)
    urls: list[str] = []
    watched.page.on("request", lambda r: urls.append(r.url))
    sign_in(watched, site.tokens["delta"], site.keys["delta"])
    watched.page.locator("#console").wait_for()
    watched.page.wait_for_timeout(1500)
    assert urls and not any(site.tokens["delta"] in u for u in urls)
    assert watched.page.context.cookies() == []
    watched.assert_clean()
    watched.page.context.close()
