"""The operations console: static files at ``/`` and ``/console/``, under a strict CSP.

The page is plain ES modules (no build step); everything it loads comes from this service, and
the Content-Security-Policy says so, so a compromised asset cannot phone home and no inline
script can run. A site's own tile server is the one other origin it may be allowed to load.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB = Path(__file__).resolve().parent.parent / "web"


def tile_origin(tile_url: str | None) -> str | None:
    """``https://tiles.example:8443`` from ``https://tiles.example:8443/{z}/{x}/{y}.png``."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the tile URL must be http(s)://host/…/{{z}}/{{x}}/{{y}}.png, not {tile_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(tile_url: str | None) -> str:
    extra = f" {origin}" if (origin := tile_origin(tile_url)) else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{extra}",
            f"connect-src 'self'{extra}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _is_console(path: str) -> bool:
    return path == "/" or path.startswith("/console/")


class ConsoleHeaders:
    """Pure ASGI: the console's pages get their security and cache headers; every other request
    passes straight through (no per-request task, unlike an ``@app.middleware`` function)."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _is_console(path):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                if path.startswith("/console/vendor/"):
                    headers["Cache-Control"] = "public, max-age=86400"  # pinned third-party files
                elif path == "/" or path.endswith((".html", ".js", ".json", ".css")):
                    headers["Cache-Control"] = "no-cache"  # revalidated: an upgrade shows at once
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_console(app: FastAPI, tile_url: str | None) -> None:
    policy = content_security_policy(tile_url)

    app.add_middleware(ConsoleHeaders, policy=policy)

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html")

    @app.get("/console/config.json", include_in_schema=False)
    def console_config() -> JSONResponse:
        """What the page needs to know before sign-in (no secrets)."""
        return JSONResponse({"tile_url": tile_url})

    app.mount("/console", StaticFiles(directory=WEB), name="console")
