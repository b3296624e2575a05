"""The console is served by the service itself, under a strict Content-Security-Policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from deconline.api.console import WEB, content_security_policy, tile_origin
from tests.helpers import World


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.inline_styles = 0
        self.handlers: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.inline_styles += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if "style" in names:
            self.inline_styles += 1
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_console_is_served_at_the_root_with_a_strict_policy(world: World) -> None:
    page = world.client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    scan = _Scan()
    scan.feed(page.text)
    assert scan.inline_scripts == 0 and scan.inline_styles == 0 and scan.handlers == []
    for url in scan.urls:
        assert url.startswith("/console/"), url
        assert world.client.get(url).status_code == 200, url
    script = world.client.get("/console/js/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "content-security-policy" in script.headers
    assert world.client.get("/console/config.json").json() == {"tile_url": None}
    assert world.client.get("/console/../store/db.py").status_code == 404
    assert world.client.get("/console/nothing.js").status_code == 404


def test_no_module_sets_a_token_in_a_url_or_loads_from_elsewhere() -> None:
    for path in sorted((WEB / "js").glob("*.js")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"[?&]token=", text), path.name
        # the SVG namespace is a name, never fetched
        assert not re.search(r"https?://(?!127\.0\.0\.1|localhost|tiles\.example|www\.w3\.org/2000/svg)", text), (
            path.name
        )
        assert "innerHTML" not in text, path.name  # server data is never parsed as HTML
        assert "eval(" not in text and "new Function" not in text, path.name


def test_the_sign_in_form_cannot_put_the_token_in_a_url() -> None:
    """Submitted before its script is ready, a form would go as a GET with its named fields: the
    fields have no names, and the button is enabled only once the script handles the submission."""
    page = (WEB / "index.html").read_text(encoding="utf-8")
    form = page[page.index('<form id="signin-form"') : page.index("</form>")]
    assert " name=" not in form
    assert re.search(r'<button type="submit" id="signin-submit" disabled>', form)


def test_every_vendored_asset_has_its_licence_and_origin() -> None:
    vendor = WEB / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    total = 0
    for folder in sorted(p for p in vendor.iterdir() if p.is_dir()):
        files = {p.name for p in folder.iterdir()}
        assert any(name.upper().startswith("LICENSE") for name in files), folder.name
        assert folder.name in readme, folder.name
        total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert "npm pack" in readme
    assert 0 < total < 3_000_000


def test_a_site_tile_server_is_the_one_other_origin_allowed() -> None:
    policy = content_security_policy("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://tiles.example.org:8443" in policy
    assert tile_origin(None) is None
    with pytest.raises(ValueError, match="tile URL"):
        tile_origin("javascript:alert(1)")


def test_the_web_folder_ships_with_the_package() -> None:
    import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["deconline"]
    assert "web/js/*.js" in patterns and "web/vendor/*/*" in patterns
