"""``tracktui serve``: the TUI in a browser, through textual-serve.

Owns the subcommand (``add_parser``/``run``), the web server built on
:class:`textual_serve.server.Server` and the entry point each browser session runs
(``python -m tui.serve``: the same app as ``tracktui``, drawn by Textual's web driver).

What it changes in textual-serve, and why:

- the page loads nothing from the internet (the stock template links Google Fonts), carries a
  Content-Security-Policy allowing only this server and focuses the terminal; the static files
  go gzipped and cached by the browser (:mod:`tui.serve_page`: 257 KB a first load, not 769 KB);
- the page's URLs come from the request's Host, so ``--host 0.0.0.0`` gives a page whose
  websocket points back at the address the browser used, not at ``0.0.0.0``;
- every session's app process is stopped when its websocket closes or the server stops
  (quit, then terminate/kill after a grace period), so no process outlives the server;
- other web pages cannot reach the app: a websocket whose Origin is not this server's is
  refused (browsers let any page open a websocket to 127.0.0.1, and the app would show it every
  run), and on a loopback address a Host that is not a loopback name is refused (DNS rebinding);
- at most ``--max-sessions`` apps run at once; one page more gets a 503 page saying the server
  is full, not an app (each app is a process of ~50 MB);
- an app dies with its server: a server killed with SIGKILL sends it SIGTERM (Linux
  ``PR_SET_PDEATHSIG``; elsewhere the app sees its parent change), and an app asked to stop that
  has not exited after a grace period (its pipes to a dead server fail mid-shutdown) exits hard;
- a visitor writes nothing on the server: the export screen hands its text to the browser as a
  download (``App.is_web``), and the database is read-only (``TRACKTUI_SERVE=read-only``: ``t``
  does not tag) unless ``--allow-writes``;
- a port in use is one line and exit 1, not a traceback; SIGINT and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .cli import _db_path, emit, refresh_interval
from .serve_page import CSP, asset_response, load_assets, offline_template

if TYPE_CHECKING:
    from aiohttp import web
    from textual_serve.app_service import AppService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 8  # ~50 MB and one DB poller each: ~400 MB at most, a few viewers' tabs
QUIT_GRACE_S = 3.0  # an app asked to quit gets this long before it is terminated
PARENT_POLL_S = 1.0  # how often an app checks that its server still lives (without prctl)
SERVE_ENV = "TRACKTUI_SERVE"  # set for each app: "read-only" or "writes" (--allow-writes)
NO_AUTH_WARNING = (
    "tracktui serve: warning: listening on {host}, not only this machine. There is no "
    "authentication: anyone who can reach port {port} can see every run, config and media in "
    "these databases and drive the app. They cannot write files here (exports download to "
    "their browser) {writes}, and at most {sessions} of them get an app at once."
)
_WRITES = {
    False: "or change the databases",
    True: "but can change the databases: --allow-writes lets them tag runs",
}
FULL_PAGE = (
    "<!doctype html><meta charset=utf-8><title>tracktui: server full</title>"
    "<p>tracktui serve: the server is full: {sessions} sessions are open (--max-sessions). "
    "Close another tab of it, or try again later.</p>"
)


def add_parser(sub: Any) -> None:
    """The ``serve`` subcommand's parser, on ``build_parser``'s subparsers."""
    serve = sub.add_parser(
        "serve", help="the TUI in a browser (textual-serve), 127.0.0.1 only",
        description="Serve the TUI to a web browser: each page opened is its own tracktui, "
        "with every key as in the terminal. Listens on 127.0.0.1 unless --host says "
        "otherwise; there is no authentication. Ctrl+C stops it.",
    )  # fmt: skip
    serve.add_argument(
        "--db", dest="sub_db", action="append", metavar="DB",
        help="database (again for several files)",
    )  # fmt: skip
    serve.add_argument("sub_databases", nargs="*", metavar="DB", help="databases, as --db")
    serve.add_argument(
        "--host", default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; another one warns: no "
        "authentication)",
    )  # fmt: skip
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--refresh", dest="sub_refresh", type=float, default=None, metavar="SECONDS",
        help="while runs log, redraw at most this often (as tracktui --refresh)",
    )  # fmt: skip
    serve.add_argument(
        "--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS, metavar="N",
        help=f"pages served at once, one app process each (default {DEFAULT_MAX_SESSIONS}); "
        "one more gets a 'server full' page",
    )  # fmt: skip
    serve.add_argument(
        "--allow-writes", action="store_true",
        help="let pages change the databases (t tags the best run); off by default. Files "
        "on this machine are never written: exports download to the browser",
    )  # fmt: skip


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine: ``localhost`` or a loopback address."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def same_origin(host_header: str, origin: str | None) -> bool:
    """Whether a websocket's ``Origin`` is this server's page: the same host and port as the
    request's ``Host`` (the scheme may differ behind a TLS proxy)."""
    if not origin or "://" not in origin:
        return False  # absent, or "null" (a file, a sandboxed frame, about:blank)
    return origin.split("://", 1)[1].rstrip("/").lower() == host_header.lower()


def host_allowed(host_header: str, listening_on_loopback: bool) -> bool:
    """Whether to answer a request with this ``Host``: on a loopback address only loopback
    names, so a DNS-rebound name (evil.example -> 127.0.0.1) gets nothing."""
    if not listening_on_loopback:
        return True
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    return is_loopback(name)


def child_databases(args: argparse.Namespace) -> list[str]:
    """The databases as given (the apps run in the server's folder, so a relative path means
    the same to them, and their header shows it as the user typed it)."""
    given = [
        *(getattr(args, "databases", None) or ()),
        *(getattr(args, "sub_databases", None) or ()),
        *(getattr(args, "sub_db", None) or ()),
    ]
    if not given and getattr(args, "db", None):
        given = [args.db]
    return [str(text) for text in given]


def app_command(
    databases: Sequence[str], refresh: float, allow_writes: bool = False, server_pid: int = 0
) -> str:
    """The shell command each browser session runs: this Python, this app, these databases.
    ``exec`` so the process textual-serve holds is the app itself, not a shell around it (and
    its parent is the server, which it watches: ``--server-pid``)."""
    argv = [sys.executable, "-m", "tui.serve_app", "--refresh", repr(refresh)]
    argv += ["--server-pid", str(server_pid or os.getpid())]
    argv += ["--allow-writes"] if allow_writes else []
    return "exec " + shlex.join([*argv, "--", *databases])


def run(args: argparse.Namespace) -> int:
    """``tracktui serve``: check the arguments, then serve until SIGINT or SIGTERM."""
    import asyncio  # here, not at the top: ``tracktui --help`` stays fast

    if not 1 <= args.port <= 65535:
        emit(f"tracktui serve: --port must be between 1 and 65535, not {args.port}", error=True)
        return 2
    if args.max_sessions < 1:
        emit(f"tracktui serve: --max-sessions must be 1 or more, not {args.max_sessions}", True)
        return 2
    refresh = refresh_interval(args.sub_refresh if args.sub_refresh is not None else args.refresh)
    target = _db_path(args)  # a bad database argument is an error now, not in every session
    host = args.host.strip()
    if not is_loopback(host):
        writes = _WRITES[args.allow_writes]
        warning = NO_AUTH_WARNING.format(
            host=host, port=args.port, writes=writes, sessions=args.max_sessions
        )
        emit(warning, error=True)
    command = app_command(child_databases(args), refresh, args.allow_writes)
    server = TrackTuiServer(command, host, args.port, args.max_sessions)
    try:
        asyncio.run(server.serve_until_stopped(target.shown))
    except ListenError as exc:
        cause = exc.__cause__
        reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
        emit(f"tracktui serve: cannot listen on {host}:{args.port}: {reason}", error=True)
        return 1
    return 0


class ListenError(Exception):
    """The address cannot be had: the port is in use or privileged, the host unknown."""


class TrackTuiServer:
    """A textual-serve :class:`Server` serving tracktui, with the changes in the module's
    docstring. Composition over a subclass made at run time keeps textual-serve out of
    ``tracktui --help``."""

    def __init__(
        self, command: str, host: str, port: int, max_sessions: int = DEFAULT_MAX_SESSIONS
    ) -> None:
        self.host, self.port, self.max_sessions = host, port, max_sessions
        self.sessions: set[AppService] = set()
        self.inner = _make_server(self, command, host, port)

    async def serve_until_stopped(self, shown: str) -> None:
        """Listen (:class:`ListenError` when the address cannot be had), print where, serve until
        SIGINT or SIGTERM; then stop every session's app and return."""
        import asyncio

        from aiohttp import web

        # Signals are ours before the port listens: a Ctrl+C just after it did (a client can
        # be told the address at once) hit Python's default handler, a traceback and code 130
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        app = await self.inner._make_app()
        # Websockets stay open until their app ends: shutdown stops the apps itself (on_shutdown)
        # instead of waiting aiohttp's default minute for the handlers.
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=QUIT_GRACE_S + 2)
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, self.host, self.port).start()
            except OSError as exc:  # in use, privileged, no such address or name
                raise ListenError() from exc
            shown_host = f"[{self.host}]" if ":" in self.host else self.host
            emit(f"tracktui serve: {shown} on http://{shown_host}:{self.port}/ (Ctrl+C stops)")
            sys.stdout.flush()
            await stop.wait()
        finally:
            await runner.cleanup()
            await self.stop_sessions()

    async def stop_sessions(self) -> None:
        import asyncio

        await asyncio.gather(*(stop_service(service) for service in list(self.sessions)))


async def stop_service(service: AppService) -> None:
    """Ask the session's app to quit; terminate it, then kill it, if it does not; reap it."""
    import asyncio

    process = service._process
    try:
        await asyncio.wait_for(service.stop(), QUIT_GRACE_S)
    except (TimeoutError, asyncio.TimeoutError, ConnectionError, RuntimeError):
        pass
    if process is None:
        return
    # Wait before any signal: Popen.send_signal() polls first, and a poll that reaps the app
    # leaves asyncio's child watcher with no child to wait for (it logs "Unknown child process").
    for send in (None, process.terminate, process.kill):
        if process.returncode is not None:
            return
        if send is not None:
            try:
                send()
            except ProcessLookupError:
                return
        try:
            await asyncio.wait_for(process.wait(), QUIT_GRACE_S)
            return
        except (TimeoutError, asyncio.TimeoutError):
            continue


def _make_server(owner: TrackTuiServer, command: str, host: str, port: int) -> Any:
    """The textual-serve server, its class made here so that textual-serve and aiohttp load
    only for ``serve``."""
    import asyncio
    from pathlib import Path

    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server as TextualServer
    from textual_serve.server import to_int

    class Server(TextualServer):
        async def _make_app(self) -> web.Application:
            import aiohttp_jinja2
            import jinja2

            # The stock app's routes, but /static from memory: compressed once, cacheable.
            assets = load_assets(Path(self.statics_path))
            app = web.Application()
            aiohttp_jinja2.setup(
                app, loader=jinja2.DictLoader({"app_index.html": offline_template(assets)}),
                autoescape=True,
            )  # fmt: skip

            async def handle_static(request: web.Request) -> web.Response:
                if self.refused(request):
                    raise web.HTTPForbidden(text="tracktui serve: unexpected Host\n")
                return asset_response(request, assets)

            app.add_routes(
                [
                    web.get("/", self.handle_index, name="index"),
                    web.get("/ws", self.handle_websocket, name="websocket"),
                    web.get("/download/{key}", self.handle_download, name="download"),
                    web.get("/static/{path:.+}", handle_static, name="static"),
                ]
            )
            app.on_shutdown.append(lambda _app: owner.stop_sessions())
            return app

        async def on_startup(self, app: web.Application) -> None:
            pass  # the stock banner prints the command (and any password in it); run() prints

        def refused(self, request: web.Request, websocket: bool = False) -> bool:
            if not host_allowed(request.host, is_loopback(self.host)):
                return True
            origin = request.headers.get("Origin")
            return websocket and not same_origin(request.host, origin)

        def full(self) -> web.Response:
            page = FULL_PAGE.format(sessions=owner.max_sessions)
            return web.Response(
                status=503, text=page, content_type="text/html", headers={"Retry-After": "30"}
            )

        async def handle_download(self, request: web.Request) -> web.StreamResponse:
            if self.refused(request):
                raise web.HTTPForbidden(text="tracktui serve: unexpected Host\n")
            return await super().handle_download(request)

        async def handle_index(self, request: web.Request) -> web.Response:
            import aiohttp_jinja2

            if self.refused(request):
                raise web.HTTPForbidden(text="tracktui serve: unexpected Host\n")
            if len(owner.sessions) >= owner.max_sessions:
                return self.full()

            # The Host the browser used, not --host: 0.0.0.0 is no address to connect back to.
            origin = f"{request.scheme}://{request.host}"
            websocket_scheme = "wss" if request.scheme == "https" else "ws"
            context = {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": f"{websocket_scheme}://{request.host}/ws",
                "config": {"static": {"url": f"{origin}/static/"}},
                "application": {"name": "tracktui"},
                "ping_url": "",
            }
            response = aiohttp_jinja2.render_template("app_index.html", request, context)
            response.headers["Content-Security-Policy"] = CSP
            response.headers["Cache-Control"] = "no-store"  # names this Host; a new app each time
            response.enable_compression()  # 5 KB: 2 KB (the websocket's replies are not these)
            return response

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            if self.refused(request, websocket=True):
                raise web.HTTPForbidden(text="tracktui serve: not from this server's page\n")
            if len(owner.sessions) >= owner.max_sessions:  # checked and added with no await
                raise web.HTTPServiceUnavailable(text="tracktui serve: the server is full\n")
            websocket = web.WebSocketResponse(heartbeat=15)

            async def close() -> None:
                await websocket.close()

            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            owner.sessions.add(service)
            try:
                await websocket.prepare(request)
                await service.start(width, height)
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                pass
            except Exception as error:  # one session's failure must not stop the server
                emit(f"tracktui serve: a session failed: {error!r}", error=True)
            finally:
                await stop_service(service)
                owner.sessions.discard(service)
                if not websocket.closed:
                    await websocket.close()
            return websocket

    return Server(command, host=host, port=port, title="tracktui")
