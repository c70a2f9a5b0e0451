"""A throwaway PostgreSQL server: for the suite (tests/conftest.py's ``pg_cluster`` and ``pg_url``)
and for trying the PostgreSQL backend locally (``python -m tests.pg_cluster`` starts one, prints its
URL and the ``export TRACKTUI_DB=...`` line, and stops it on Ctrl-C).

A ``Cluster`` lives in one temporary folder: ``data/`` (initdb's data directory), ``sock/`` (its Unix
socket), ``server.log`` (the postmaster's output) and ``owner`` (who started it). The folder goes in
``$TRACKTUI_PG_TMPDIR``, else /dev/shm where it has room (a test-speed choice, see _temp_bases),
else the temporary folder. It listens on a free loopback port (127.0.0.1) and on the socket,
trusts every local connection, and has one superuser, ``tracktui``. The binaries are found as
``find_binaries()`` says (``$TRACKTUI_PG_BIN`` first). As root the server runs as an unprivileged
user (``nobody``, or ``$TRACKTUI_PG_OS_USER``): initdb and postgres refuse to run as root.

No server outlives its process: ``stop()`` runs at exit and in the fixtures' finalizers; on Linux
the postmaster is also told to shut down (SIGQUIT, "immediate") when the process that started it
dies, even by SIGKILL; and a folder left by a killed process is removed by the next ``start()``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql
    from psycopg.rows import TupleRow

__all__ = [
    "SUPERUSER",
    "Cluster",
    "ClusterError",
    "StopMode",
    "find_binaries",
    "unavailable_reason",
]

SUPERUSER = "tracktui"
StopMode = Literal["smart", "fast", "immediate"]

# The postmaster's own shutdown signals (pg_ctl stop -m smart|fast|immediate sends the same).
_STOP_SIGNALS: dict[str, signal.Signals] = {
    "smart": signal.SIGTERM,  # waits for clients to disconnect
    "fast": signal.SIGINT,  # disconnects clients, checkpoints, exits
    "immediate": signal.SIGQUIT,  # kills everything at once; the next start runs crash recovery
}
_FOLDER_PREFIX = "tracktui-pg-"
_DEFAULT_OS_USER = "nobody"
_MAX_SOCKET_PATH = 100  # sun_path holds 107 bytes; the socket's name adds /.s.PGSQL.NNNNN
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_MIN_FREE_IN_MEMORY = 2 << 30  # /dev/shm is used where it has 2 GiB free (Docker's has 64 MiB)

# Appended to postgresql.conf (as an include, rewritten before each start).
_SETTINGS: dict[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    # Tests start up to 32 writer processes with 1-2 connections each, and fixtures connect too.
    "max_connections": "200",
    # Checkpoint spacing, not durability: keeps the WAL (in memory where the folder is on
    # /dev/shm, see _temp_bases) small while tests create and drop a database each.
    "max_wal_size": "'256MB'",
    # Test-speed setting: a throwaway server loses nothing it must keep if the machine crashes.
    # A crash or an immediate stop of the server itself still keeps every committed
    # transaction (the WAL is in the OS's page cache); synchronous_commit and
    # full_page_writes keep their defaults.
    "fsync": "off",
}


class ClusterError(RuntimeError):
    """The throwaway server could not be set up, started or stopped (the message says why)."""


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: ``$TRACKTUI_PG_BIN`` where set (None if it
    holds no initdb), else the one on PATH (symlinks followed), else the newest
    /usr/lib/postgresql/*/bin."""
    configured = os.environ.get("TRACKTUI_PG_BIN")
    if configured:
        folder = Path(configured).expanduser()
        return folder if _holds_server(folder) else None
    on_path = shutil.which("initdb")
    if on_path is not None:
        for folder in (Path(on_path).resolve().parent, Path(on_path).parent):
            if _holds_server(folder):
                return folder
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name)
    )
    for folder in reversed(versions):
        if _holds_server(folder):
            return folder
    return None


def unavailable_reason() -> str | None:
    """Why a throwaway server cannot start here, or None where it can."""
    if os.name != "posix":
        return "the throwaway PostgreSQL server needs a POSIX system"
    if find_binaries() is None:
        configured = os.environ.get("TRACKTUI_PG_BIN")
        if configured:
            return f"$TRACKTUI_PG_BIN ({configured}) holds no initdb and postgres"
        return "PostgreSQL's initdb is not installed (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError as error:
        return f"psycopg is not usable ({error}): pip install 'psycopg[binary]'"
    if os.geteuid() == 0:
        name = _os_user_name()
        try:
            pwd.getpwnam(name)
        except KeyError:
            return (
                f"running as root, and there is no user {name!r} to run PostgreSQL as"
                " (initdb refuses root; set $TRACKTUI_PG_OS_USER)"
            )
    return None


class Cluster:
    """One throwaway PostgreSQL server in a temporary folder.

    ``start()`` creates it (initdb) the first time, or starts it again on the same data and port
    after ``restart()``'s stop; ``stop()`` stops it and removes the folder. Also a context
    manager (start on enter, stop on exit).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        """``port``: the TCP port (default: a free one, chosen at the first start).
        ``settings``: more postgresql.conf lines (name -> value as written in the file)."""
        self._requested_port = port
        self._settings = {**_SETTINGS, **(settings or {})}
        self._start_timeout = start_timeout
        self._port: int | None = None
        self._folder: Path | None = None
        self._bin: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection[TupleRow] | None = None
        self._lock = threading.RLock()
        self._at_exit_registered = False

    # -- where it is -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the postmaster is up (started and not exited)."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def port(self) -> int:
        if self._port is None:
            raise ClusterError("the cluster has not been started")
        return self._port

    @property
    def folder(self) -> Path:
        """The temporary folder holding everything (removed by ``stop()``)."""
        if self._folder is None:
            raise ClusterError("the cluster has not been started")
        return self._folder

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "sock"

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://tracktui@127.0.0.1:PORT/DBNAME`` (TCP, no password: trust auth)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def socket_url(self, dbname: str = "postgres") -> str:
        """The same database through the Unix socket."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{SUPERUSER}@/{quote(dbname, safe='')}?host={host}&port={self.port}"

    def __repr__(self) -> str:
        state = f"running on port {self._port}" if self.running else "stopped"
        return f"<Cluster {state}, folder {self._folder}>"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the server (creating it the first time) and return once it accepts connections.
        Does nothing while it runs."""
        with self._lock:
            if self.running:
                return
            if self._folder is None:
                self._create()
            if not self._at_exit_registered:
                atexit.register(self.stop)
                self._at_exit_registered = True
            attempts = 1 if self._requested_port is not None or self._process is not None else 5
            for attempt in range(attempts):
                try:
                    self._launch()
                    return
                except _PortTaken:
                    # Another process took the free port between choosing and binding it.
                    if attempt == attempts - 1:
                        raise ClusterError(
                            f"could not bind a port ({self._port}): {self._log_tail()}"
                        ) from None
                    self._port = _free_port()

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop the server (``mode`` as pg_ctl's -m) and remove its folder. Safe to call twice,
        and on a cluster that never started or whose server died."""
        with self._lock:
            try:
                self._halt(mode)
            finally:
                if self._folder is not None:
                    shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
                self._process = None
                if self._requested_port is None:
                    self._port = None
                if self._at_exit_registered:
                    atexit.unregister(self.stop)
                    self._at_exit_registered = False

    def restart(self, mode: StopMode = "fast") -> None:
        """Stop the server (``mode``) and start it again on the same data and port."""
        with self._lock:
            if self._folder is None:
                raise ClusterError("the cluster has not been started")
            self._halt(mode)
            self.start()

    def wait(self) -> int:
        """Wait until the server exits (by itself or by a signal); its exit status."""
        if self._process is None:
            raise ClusterError("the cluster has not been started")
        return self._process.wait()

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases ---------------------------------------------------------------------------

    def connect(
        self, dbname: str = "postgres", *, autocommit: bool = True
    ) -> psycopg.Connection[TupleRow]:
        """A new psycopg connection (TCP) to ``dbname`` as the superuser; the caller closes it."""
        import psycopg

        return psycopg.connect(self.url(dbname), autocommit=autocommit)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (from template0; default name: ``test_`` and a random hex)
        and return its URL."""
        name = name or f"test_{uuid.uuid4().hex[:16]}"
        from psycopg import sql

        self._admin_execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        )
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database if it exists, disconnecting its clients (``WITH (FORCE)``)."""
        from psycopg import sql

        self._admin_execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def _admin_execute(self, statement: sql.Composed) -> None:
        import psycopg

        with self._lock:
            if not self.running:
                raise ClusterError("the server is not running")
            for attempt in range(2):
                if self._admin is None or self._admin.closed:
                    self._admin = self.connect()
                try:
                    self._admin.execute(statement)
                    return
                except psycopg.OperationalError:
                    # The kept connection died with a restart: connect again, once.
                    self._close_admin()
                    if attempt == 1:
                        raise

    # -- inside ------------------------------------------------------------------------------

    def _create(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise ClusterError(reason)
        self._bin = find_binaries()
        assert self._bin is not None
        _remove_stale_folders()
        base = _temp_base()
        folder = Path(tempfile.mkdtemp(prefix=_FOLDER_PREFIX, dir=base))
        self._folder = folder
        try:
            (folder / "owner").write_text(_process_identity(os.getpid()) + "\n")
            (folder / "sock").mkdir(mode=0o700)
            owner = _os_user()
            if owner is not None:
                for path in (folder, folder / "sock"):
                    os.chown(path, owner[0], owner[1])
            initdb = [
                str(self._bin / "initdb"),
                "--pgdata", str(folder / "data"),
                "--username", SUPERUSER,
                "--auth", "trust",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",  # test-speed setting: initdb's own fsyncs
                "--no-instructions",
            ]  # fmt: skip
            result = subprocess.run(
                initdb,
                cwd=folder,
                env=_server_environment(folder),
                capture_output=True,
                text=True,
                timeout=120,
                user=None if owner is None else owner[0],
                group=None if owner is None else owner[1],
                extra_groups=None if owner is None else [],
            )
            if result.returncode != 0:
                raise ClusterError(
                    f"initdb failed ({result.returncode}): {result.stderr.strip() or result.stdout}"
                )
            with (folder / "data" / "postgresql.conf").open("a") as conf:
                conf.write("\n# tests/pg_cluster.py\ninclude 'tracktui.conf'\n")
        except BaseException:
            self.stop()
            raise
        self._port = self._requested_port or _free_port()

    def _launch(self) -> None:
        folder, port = self.folder, self.port
        owner = _os_user()
        settings = {
            **self._settings,
            "port": str(port),
            "unix_socket_directories": _quote_setting(str(folder / "sock")),
        }
        conf = folder / "data" / "tracktui.conf"
        conf.write_text("".join(f"{name} = {value}\n" for name, value in settings.items()))
        if owner is not None:
            os.chown(conf, owner[0], owner[1])
        self._close_admin()
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self._bin_folder() / "postgres"), "-D", str(folder / "data")],
                cwd=folder,
                env=_server_environment(folder),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: Ctrl-C in a terminal is ours
                preexec_fn=_die_with_this_thread(),
                user=None if owner is None else owner[0],
                group=None if owner is None else owner[1],
                extra_groups=None if owner is None else [],
            )
        self._wait_ready(log_start)

    def _wait_ready(self, log_start: int) -> None:
        """Poll postmaster.pid until it says "ready" (what pg_ctl -w waits for)."""
        assert self._process is not None
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + self._start_timeout
        delay = 0.002
        while True:
            status = self._process.poll()
            if status is not None:
                log = self._log_tail(log_start)
                if "could not bind" in log or "could not create any TCP/IP sockets" in log:
                    raise _PortTaken
                raise ClusterError(f"postgres exited ({status}) while starting: {log}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                # line 8: "starting", "ready" or "stopping", padded with spaces
                ready = len(lines) >= 8 and lines[7].strip() == "ready"
                if ready and lines[0] == str(self._process.pid):
                    return
            if time.monotonic() > deadline:
                self._halt("immediate")
                raise ClusterError(
                    f"postgres was not ready after {self._start_timeout:g} s: {self._log_tail(log_start)}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _halt(self, mode: StopMode) -> None:
        """Stop the postmaster and wait for it (it exits after all its children); keep the data."""
        self._close_admin()
        process = self._process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(_STOP_SIGNALS[mode])
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the postmaster and its backends
            process.wait(timeout=10)

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                admin.close()

    def _bin_folder(self) -> Path:
        if self._bin is None:
            raise ClusterError("the cluster has not been created")
        return self._bin

    def _log_tail(self, start: int = 0, limit: int = 4000) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(start)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-limit:].strip() or "(the server log is empty)"


class _PortTaken(Exception):
    pass


# -- helpers -------------------------------------------------------------------------------------


def _holds_server(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in ("initdb", "postgres"))


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _os_user_name() -> str:
    return os.environ.get("TRACKTUI_PG_OS_USER") or _DEFAULT_OS_USER


def _os_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as: an unprivileged user as root, else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_os_user_name())
    except KeyError:
        raise ClusterError(f"no user {_os_user_name()!r} to run PostgreSQL as") from None
    return entry.pw_uid, entry.pw_gid


def _server_environment(folder: Path) -> dict[str, str]:
    """Ours without libpq's PG* variables (PGDATA, PGPORT...), in the C locale."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", HOME=str(folder))
    return env


def _quote_setting(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _temp_bases() -> list[Path]:
    """Where a cluster's folder may go, best first: ``$TRACKTUI_PG_TMPDIR`` where set; else
    /dev/shm where it is a tmpfs with room (test speed: creating a database's ~300 files is what
    CREATE DATABASE spends its time on, 14 ms there against 250 ms on this machine's disk, and
    initdb takes 0.4 s instead of 1.2 s; what a server keeps survives its restarts and crashes
    there too, not the machine's); else the temporary folder, else /tmp."""
    configured = os.environ.get("TRACKTUI_PG_TMPDIR")
    if configured:
        return [Path(configured).expanduser()]
    bases = [Path("/dev/shm")] if _has_room(Path("/dev/shm")) else []
    return [*bases, Path(tempfile.gettempdir()), Path("/tmp")]


def _temp_base() -> Path:
    for base in _temp_bases():
        if _usable_base(base):
            return base
    raise ClusterError(f"no usable folder for the cluster among {[str(b) for b in _temp_bases()]}")


def _has_room(base: Path) -> bool:
    try:
        stat = os.statvfs(base)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize >= _MIN_FREE_IN_MEMORY


def _usable_base(base: Path) -> bool:
    """Writable by us; short enough for the socket's path (folder name ~20 characters, /sock,
    /.s.PGSQL.NNNNN); as root, reachable by the server's user (every folder above it o+x)."""
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        return False
    if len(str(base.resolve())) + 45 > _MAX_SOCKET_PATH:
        return False
    if os.geteuid() == 0:
        return all(
            folder.stat().st_mode & 0o001 for folder in [base.resolve(), *base.resolve().parents]
        )
    return True


def _die_with_this_thread() -> Callable[[], None] | None:
    """A preexec_fn that has Linux send the postmaster SIGQUIT (immediate shutdown) when the
    thread starting it dies, however it dies. It runs after the switch to the server's user
    (which would clear it). Only from the main thread: the signal follows the thread, not the
    process, and another thread may end long before the process."""
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGQUIT), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl
            os._exit(1)

    return die_with_parent


def _process_identity(pid: int) -> str:
    """``PID START`` (START: the process's start time in clock ticks after boot, where known),
    so that a reused pid is not taken for the process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start = "?"
    return f"{pid} {start}"


def _alive(identity: str) -> bool:
    pid_text = identity.split()[0] if identity.split() else ""
    if not pid_text.isdigit():
        return True  # unreadable: leave it alone
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return identity.split()[1:] in ([], ["?"]) or _process_identity(pid) == identity


def _remove_stale_folders() -> None:
    """Remove the folders of clusters whose starting process is gone (killed before its stop);
    a postmaster still running there (no parent-death signal off Linux) is told to stop first."""
    folders = {folder for base in _temp_bases() for folder in base.glob(_FOLDER_PREFIX + "*")}
    for folder in folders:
        try:
            owner = (folder / "owner").read_text().strip()
        except OSError:
            continue  # being created, or not ours
        if _alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((folder / "data" / "postmaster.pid").read_text().splitlines()[0])
            if _is_postmaster_of(pid, folder / "data"):
                os.kill(pid, signal.SIGQUIT)
                continue  # removed by a later start, once it has exited
        shutil.rmtree(folder, ignore_errors=True)


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a running postgres for ``data_dir`` (not a process that reused the pid
    of one killed along with its pid file left behind)."""
    import psutil

    try:
        command = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return str(data_dir) in command and any(Path(part).name == "postgres" for part in command[:1])


# -- python -m tests.pg_cluster --------------------------------------------------------------


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.pg_cluster",
        description="Start a throwaway PostgreSQL server for trying tracktui's PostgreSQL backend; "
        "Ctrl-C stops it and deletes its data.",
    )
    parser.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--database", default="tracktui", help="database to create (default: tracktui)"
    )
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason is not None:
        print(f"cannot start PostgreSQL here: {reason}", file=sys.stderr)
        return 1

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    cluster = Cluster(port=args.port)
    try:
        cluster.start()
        url = cluster.create_database(args.database)
        print(f"PostgreSQL is running: {url}")
        print(f"  data and log in {cluster.folder}; socket URL {cluster.socket_url(args.database)}")
        print(f"export TRACKTUI_DB={url}")
        print("Ctrl-C stops it and deletes its data.", flush=True)
        status = cluster.wait()
        print(
            f"postgres exited by itself ({status}); its log:\n{cluster._log_tail()}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("stopping", flush=True)
        return 0
    except ClusterError as error:
        print(f"cannot start PostgreSQL: {error}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(_main())
