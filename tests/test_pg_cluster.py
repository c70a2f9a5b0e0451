"""The throwaway PostgreSQL server (tests/pg_cluster.py): it starts, takes connections on TCP and
its socket, makes separate databases, keeps committed data across restarts (fast and immediate),
and leaves no process or folder behind: not after stop(), and not when the process that started it
is killed. Skips, saying why, where PostgreSQL or psycopg is missing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from .helpers import ROOT, start_python
from .pg_cluster import Cluster, ClusterError, StopMode, find_binaries, unavailable_reason

# One xdist worker runs this module (--dist loadgroup): a new Cluster stops the servers of dead
# owners, so a test here starting one would stop the orphan another test here is looking at.
pytestmark = pytest.mark.xdist_group("pg-cluster")

REASON = unavailable_reason()
needs_server = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (a reaper outside our control may be slow)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(pids: list[int], timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if not _gone(pid)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def _server_pids(cluster: Cluster) -> list[int]:
    assert cluster.pid is not None
    postmaster = psutil.Process(cluster.pid)
    return [postmaster.pid, *(child.pid for child in postmaster.children(recursive=True))]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    try:
        own.start()
        yield own
    finally:
        own.stop()


def test_a_wrong_bin_folder_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRACKTUI_PG_BIN", str(tmp_path))
    assert find_binaries() is None
    reason = unavailable_reason()
    assert reason is not None and "TRACKTUI_PG_BIN" in reason and str(tmp_path) in reason
    with pytest.raises(ClusterError, match="TRACKTUI_PG_BIN"):
        Cluster().start()


@needs_server
def test_binaries_are_found() -> None:
    folder = find_binaries()
    assert folder is not None
    assert (folder / "initdb").exists() and (folder / "postgres").exists()


@needs_server
def test_it_takes_connections_on_tcp_and_the_socket(pg_cluster: Cluster) -> None:
    import psycopg

    assert pg_cluster.url("x") == f"postgresql://tracktui@127.0.0.1:{pg_cluster.port}/x"
    with pg_cluster.connect() as conn:
        row = conn.execute(
            "SELECT current_user, host(inet_server_addr()), current_setting('max_connections'),"
            " current_setting('fsync'), current_setting('synchronous_commit'), rolsuper"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == ("tracktui", "127.0.0.1", "200", "off", "on", True)
    with psycopg.connect(pg_cluster.socket_url()) as conn:
        row = conn.execute("SELECT inet_server_addr()").fetchone()
    assert row == (None,)  # a Unix socket has no address
    if os.geteuid() == 0:  # the server is not root's
        assert pg_cluster.pid is not None
        assert psutil.Process(pg_cluster.pid).uids().real != 0


@needs_server
def test_databases_are_separate_and_empty(pg_cluster: Cluster) -> None:
    import psycopg

    first, second = pg_cluster.create_database(), pg_cluster.create_database()
    assert first != second
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE runs (id text PRIMARY KEY)")
        conn.execute("INSERT INTO runs VALUES ('a')")
    with psycopg.connect(second) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)
    for url in (first, second):
        pg_cluster.drop_database(url.rsplit("/", 1)[1])


@needs_server
def test_pg_url_is_a_fresh_database(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        name, tables = conn.execute(
            "SELECT current_database(),"
            " (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')"
        ).fetchone() or (None, None)
    assert pg_url.endswith(f"/{name}") and tables == 0


@needs_server
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_restart_keeps_committed_data(cluster: Cluster, mode: StopMode) -> None:
    import psycopg

    url = cluster.create_database("kept")
    port, folder = cluster.port, cluster.folder
    writer = psycopg.connect(url, autocommit=True)
    writer.execute("CREATE TABLE t (n int)")
    writer.execute("INSERT INTO t VALUES (1), (2)")
    cluster.restart(mode)
    assert (cluster.port, cluster.folder) == (port, folder) and cluster.running
    with pytest.raises(psycopg.OperationalError):
        writer.execute("SELECT 1")  # the old connection died with the server
    writer.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT sum(n) FROM t").fetchone() == (3,)
    cluster.create_database("after")  # its kept admin connection reconnects


@needs_server
def test_stop_leaves_no_process_or_folder() -> None:
    cluster = Cluster()
    cluster.start()
    folder = cluster.folder
    with cluster.connect():  # a backend process too
        pids = _server_pids(cluster)
        assert len(pids) >= 3
        cluster.stop()
    assert _wait_gone(pids, timeout=1) == []
    assert not folder.exists() and not cluster.running
    cluster.stop()  # twice is fine


@needs_server
def test_stop_immediate_leaves_no_process() -> None:
    cluster = Cluster()
    cluster.start()
    pids = _server_pids(cluster)
    cluster.stop("immediate")
    assert _wait_gone(pids, timeout=1) == []


@needs_server
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)
def test_the_server_dies_with_a_killed_owner() -> None:
    child = start_python(
        """
        import sys, time
        from tests.pg_cluster import Cluster
        cluster = Cluster()
        cluster.start()
        print(cluster.pid, cluster.folder, flush=True)
        time.sleep(120)
        """
    )
    try:
        assert child.stdout is not None
        pid_text, folder_text = child.stdout.readline().split()
        postmaster = int(pid_text)
        assert not _gone(postmaster)
    finally:
        child.kill()  # SIGKILL: no atexit, no finalizer
        child.communicate(timeout=30)
    assert _wait_gone([postmaster]) == []
    # The next cluster removes the folder the killed process left.
    with Cluster():
        assert not Path(folder_text).exists()


@needs_server
def test_a_server_orphaned_without_the_signal_is_stopped_by_the_next_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Started off the main thread, a server gets no parent-death signal (it would follow the
    # thread); the next cluster's start finds the dead owner and stops it. In a folder of this
    # test's own: another worker's cluster starting meanwhile would stop it first (seen in CI).
    private = Path(tempfile.mkdtemp(prefix="pgo-", dir="/tmp"))
    private.chmod(0o755)  # as root the server's own user must reach it
    monkeypatch.setenv("TRACKTUI_PG_TMPDIR", str(private))
    child = start_python(
        """
        import threading, time
        from tests.pg_cluster import Cluster
        cluster = Cluster()
        starting = threading.Thread(target=cluster.start)
        starting.start()
        starting.join()
        print(cluster.pid, cluster.folder, flush=True)
        time.sleep(120)
        """
    )
    try:
        assert child.stdout is not None
        pid_text, folder_text = child.stdout.readline().split()
    finally:
        child.kill()
        child.communicate(timeout=30)
    postmaster = int(pid_text)
    try:
        time.sleep(0.2)  # (nothing would stop it: see that it is still there)
        assert not _gone(postmaster)
        with Cluster():
            assert _wait_gone([postmaster]) == []
        with Cluster():  # and the one after removes its folder
            assert not Path(folder_text).exists()
    finally:
        shutil.rmtree(private, ignore_errors=True)


@needs_server
def test_the_command_line_prints_a_url_and_stops_on_ctrl_c() -> None:
    import psycopg

    command = subprocess.Popen(
        [sys.executable, "-m", "tests.pg_cluster"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert command.stdout is not None
        lines = [command.stdout.readline() for _ in range(4)]
        exports = [line for line in lines if line.startswith("export TRACKTUI_DB=")]
        assert exports, lines
        url = exports[0].strip().split("=", 1)[1]
        assert url.startswith("postgresql://tracktui@127.0.0.1:") and url.endswith("/tracktui")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("tracktui",)
        folder = Path(lines[1].split("data and log in ", 1)[1].split(";")[0])
        assert folder.exists()
        command.send_signal(signal.SIGINT)
        _out, err = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
            command.communicate()
    assert command.returncode == 0, err
    assert not folder.exists()
