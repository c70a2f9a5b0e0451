"""``tracktui serve``'s page and static files (the server around them is :mod:`tui.serve`).

The page is textual-serve's template, changed so that it loads nothing from the internet (the
stock one links Google Fonts; this one serves the Roboto Mono textual-serve ships), carries a
Content-Security-Policy allowing only this server, focuses the terminal once its socket is open
(else keys typed before a click are lost) and leaves out the 60 KB picture behind the
"loading" box.

The static files (textual.js alone is 514 KB) are read once at start and gzip-compressed then
(level 9, ~35 ms in all, nothing per request; a file gzip barely shrinks, a PNG, is sent as it
is). The page names each one with its content's hash (``?v=``), so a browser keeps it for a year
and a reload fetches none of them; a request without the current hash must revalidate, and an
``ETag`` makes that a 304.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

GZIP_LEVEL = 9
GZIP_WORTH = 0.9  # compressed only when that saves more than a tenth
IMMUTABLE = "public, max-age=31536000, immutable"  # named with its hash: never changes
REVALIDATE = "no-cache"  # an old or missing hash: ask each time (the ETag makes that a 304)
_TYPES = {  # mimetypes varies by platform for these
    ".js": ("text/javascript", "utf-8"),
    ".css": ("text/css", "utf-8"),
    ".ttf": ("font/ttf", None),
    ".png": ("image/png", None),
}

# Only this server: the page's script, styles and fonts come from /static, its websocket from /ws.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'"
)
_FONT_FACE = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf");
        font-weight: 100 700;
      }
    </style>"""
# xterm.js reads keys from a textarea it makes inside #terminal: focus it once the socket is open
# (body.-loaded; textual.js sends a focus event at once, which a connecting socket refuses) and
# again whenever the window comes back, while the session lasts.
_FOCUS = """<script>
      (() => {
        const focusTerminal = () => {
          const state = document.body.classList;
          const input = document.querySelector("#terminal textarea");
          if (!input || !state.contains("-loaded") || state.contains("-closed")) return false;
          if (document.activeElement !== input) input.focus({ preventScroll: true });
          return true;
        };
        const watch = new MutationObserver(() => focusTerminal() && watch.disconnect());
        addEventListener("DOMContentLoaded", () => {
          watch.observe(document.body, { attributes: true, attributeFilter: ["class"] });
          focusTerminal();
        });
        addEventListener("focus", focusTerminal);
      })();
    </script>"""
_NETWORK_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", re.DOTALL)
_BACKGROUND = re.compile(r"\n\s*background-image:[^;]*;")
_STATIC_URL = re.compile(r"\{\{ config\.static\.url \}\}([A-Za-z0-9_./-]+)")


@dataclass(frozen=True)
class Asset:
    """One static file as served: its bytes, gzipped when that pays, and their ETags."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    charset: str | None
    version: str  # the content's hash, the page's ``?v=``

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def gzip_etag(self) -> str:
        return f'"{self.version}-gz"'  # another representation: another tag


def load_assets(root: Path) -> dict[str, Asset]:
    """Every file under ``root``, by its path there (``js/textual.js``): the only names served,
    so no request can reach a file outside it."""
    import gzip  # here: ``tracktui --help`` imports this module, only ``serve`` needs these
    import hashlib
    import mimetypes

    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
        guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        content_type, charset = _TYPES.get(path.suffix.lower(), (guessed, None))
        assets[path.relative_to(root).as_posix()] = Asset(
            body=body,
            gzipped=packed if len(packed) < GZIP_WORTH * len(body) else None,
            content_type=content_type,
            charset=charset,
            version=hashlib.sha256(body).hexdigest()[:16],
        )
    return assets


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` allows gzip (``gzip`` or ``*``, not with ``q=0``)."""
    allowed: dict[str, bool] = {}
    for item in (header or "").split(","):
        name, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # unreadable: as good as refused
        allowed[name.lower()] = weight > 0  # nan > 0 is False
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


def asset_response(request: web.Request, assets: dict[str, Asset]) -> web.Response:
    """The response for ``/static/{path}``: 404 for a name not served, 304 for a copy the
    browser has, else the file (gzipped where the browser takes it)."""
    from aiohttp import web

    asset = assets.get(request.match_info.get("path", ""))
    if asset is None:
        raise web.HTTPNotFound(text="tracktui serve: no such file\n")
    packed = asset.gzipped is not None and accepts_gzip(request.headers.get("Accept-Encoding"))
    etag = asset.gzip_etag if packed else asset.etag
    current = request.query.get("v") == asset.version
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if current else REVALIDATE,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    seen = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in seen or "*" in seen:
        return web.Response(status=304, headers=headers)
    if packed:
        headers["Content-Encoding"] = "gzip"
    body = asset.gzipped if packed and asset.gzipped is not None else asset.body
    return web.Response(
        body=body, headers=headers, content_type=asset.content_type, charset=asset.charset
    )


def offline_template(assets: dict[str, Asset]) -> str:
    """textual-serve's page, changed as the module's docstring says; every static URL in it
    carries its file's hash."""
    from importlib.resources import files

    stock = (files("textual_serve") / "templates" / "app_index.html").read_text("utf-8")
    page = _BACKGROUND.sub("", _NETWORK_LINK.sub("", stock))
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}" />'
    icon = '<link rel="icon" href="data:," />'  # else the browser asks for /favicon.ico: a 404
    page = page.replace("<head>", f"<head>\n    {meta}\n    {icon}\n    {_FONT_FACE}", 1)
    page = page.replace("</head>", f"  {_FOCUS}\n  </head>", 1)

    def versioned(match: re.Match[str]) -> str:
        asset = assets.get(match.group(1))
        return match.group(0) if asset is None else f"{match.group(0)}?v={asset.version}"

    return _STATIC_URL.sub(versioned, page)
