"""Child processes that start with the ML frameworks already imported.

Importing torch, Lightning, transformers and Keras takes several seconds per process, most of
what a framework test spent. One interpreter (per test session, shared by the workers of
``pytest -n``) imports them once and then forks a fresh child for each script, much as a
forkserver does: every child is a real process of
its own (its own pid, stdin, stdout, stderr, environment, working folder, ``sys.argv``), runs the
script as ``__main__`` in the main thread, and ends the way ``python -c`` ends: an uncaught
exception goes through ``sys.excepthook`` and exits 1, ``sys.exit`` exits with its code, the
``atexit`` handlers (the tracker's finish) run at the end. Only the frameworks' own import work
is shared; ``tracker`` is imported by each script, after the fork.

A script that must see a fresh interpreter (one that checks what is imported at all) keeps using
:func:`tests.helpers.run_python`.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent

# What the framework scripts import at their top; each only where installed.
PRELOAD = (
    "numpy",
    "torch",
    "lightning",
    "lightning.pytorch",
    "transformers",
    "transformers:BertConfig,BertForSequenceClassification,Trainer,TrainingArguments,TrainerState",
    "accelerate",
    "keras",
)
# Read once at interpreter start: a child asking for other values needs its own interpreter.
_STARTUP_VARIABLES = ("KERAS_BACKEND",)
# fork, and file descriptors sent over a Unix socket that keeps messages apart: elsewhere every
# script gets a fresh interpreter of its own, as with run_python.
AVAILABLE = sys.platform == "linux" and hasattr(socket, "send_fds")

SERVER = r"""
import os, socket, sys

# Not a child of a test process: a test that counts its own children must not see it.
if os.fork():
    os._exit(0)
os.setsid()
path = sys.argv[1]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    listener.bind(path)
except OSError:
    raise SystemExit(0)  # another test process started one first: it serves everyone
listener.listen(64)

import importlib, json, select, signal

for entry in json.loads(sys.argv[2]):
    name, _, attributes = entry.partition(":")
    try:
        module = importlib.import_module(name)
        for attribute in filter(None, attributes.split(",")):
            getattr(module, attribute)
    except Exception as exc:  # a child that needs it fails on its own import, as it would
        print(f"preload {entry}: {exc!r}", file=sys.stderr, flush=True)

# What was imported stays as it is: no collection in a child touches (and copies) its pages.
import gc

gc.freeze()
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.signal(signal.SIGCHLD, lambda *_: None)
signal.set_wakeup_fd(wake_w)
children = {}  # pid -> the fd its exit code is written to
clients = []  # one connection per test process


def reap():
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = children.pop(pid, None)
        if fd is not None:
            os.write(fd, str(os.waitstatus_to_exitcode(status)).encode())
            os.close(fd)


def serve():
    served = False
    try:
        while clients or not served:
            timeout = None if served else 300
            readable, _, _ = select.select([listener, wake_r, *clients], [], [], timeout)
            if not readable and not served:
                break  # nobody came
            if wake_r in readable:
                os.read(wake_r, 4096)
                reap()
            if listener in readable:
                client, _ = listener.accept()
                served = True
                try:
                    client.sendall(b"ready")
                except OSError:  # it left while this was importing
                    client.close()
                else:
                    clients.append(client)
            for client in [c for c in clients if c in readable]:
                try:
                    message, fds, _, _ = socket.recv_fds(client, 1 << 20, 4)
                except OSError:  # gone without reading "ready": a reset, not a request
                    message, fds = b"", []
                if not message:  # that test process is done
                    clients.remove(client)
                    client.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    return json.loads(message), fds
                for fd in fds[:3]:
                    os.close(fd)
                children[pid] = fds[3]
                try:
                    client.sendall(str(pid).encode())
                except OSError:
                    pass  # it went away meanwhile; the child runs on and is reaped
    except BaseException:
        os.unlink(path)  # never a socket file that nobody answers
        raise
    os.unlink(path)  # the last test process is done: so is this
    raise SystemExit(0)


_request, _fds = serve()
# --- in the child from here on: undo the server's own set-up, then be the script's process
signal.set_wakeup_fd(-1)
signal.signal(signal.SIGCHLD, signal.SIG_DFL)
for _fd in (wake_r, wake_w, _fds[3], *children.values()):
    os.close(_fd)
for _sock in (listener, *clients):
    _sock.close()
for _target, _fd in enumerate(_fds[:3]):
    os.dup2(_fd, _target)
    os.close(_fd)
os.chdir(_request["cwd"])
os.environ.clear()
os.environ.update(_request["env"])
sys.argv = ["-c", *_request["args"]]
import types as _types

_main = _types.ModuleType("__main__")
_main.__dict__["__builtins__"] = __builtins__
_server_main, sys.modules["__main__"] = sys.modules["__main__"], _main
exec(compile(_request["code"], "<string>", "exec"), _main.__dict__)
"""


def _socket_path() -> Path:
    """One server for a whole test session: the workers of ``pytest -n`` share it."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    folder = tempfile.gettempdir()
    if len(folder) > 60:  # a Unix socket's path has room for about 100 bytes
        folder = "/tmp"
    return Path(folder) / f"tracktui-preloaded-{run[:32]}.sock"


class _Server:
    """This test process's connection to the server, which it starts unless it runs."""

    def __init__(self) -> None:
        self.path = _socket_path()
        self.lock = threading.Lock()
        self.env = _base_env()
        self.log = tempfile.NamedTemporaryFile(prefix="tracktui-preloaded-", suffix=".log")  # noqa: SIM115
        self.sock = self._connect() or self._start()
        self.ready = False

    def _connect(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            return None
        return sock

    def _start(self) -> socket.socket:
        present = [
            e for e in PRELOAD if importlib.util.find_spec(e.partition(":")[0].split(".")[0])
        ]
        subprocess.run(  # it forks the server and leaves at once
            [sys.executable, "-c", SERVER, str(self.path), json.dumps(present)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=self.env,
            cwd=ROOT,
            check=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # it listens before it imports anything
            sock = self._connect()
            if sock is not None:
                return sock
            time.sleep(0.01)
        raise AssertionError(f"the preloaded interpreter did not start: {self._said()}")

    def _said(self) -> str:
        self.log.seek(0)
        return repr(self.log.read())

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable or self.sock.recv(16) != b"ready":
            raise AssertionError(f"the preloaded interpreter did not start: {self._said()}")
        self.ready = True

    def fork(self, request: dict[str, Any], fds: list[int]) -> int:
        with self.lock:
            self.wait_ready(300)
            socket.send_fds(self.sock, [json.dumps(request).encode()], fds)
            answer = self.sock.recv(32)
            if not answer:
                raise AssertionError(f"the preloaded interpreter went away: {self._said()}")
            return int(answer)

    def close(self) -> None:
        self.sock.close()  # the server exits once every test process has closed its end
        self.log.close()


_server: _Server | None = None
_server_lock = threading.Lock()


def _base_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACKTUI_PROJECT": "tests",
        "TRACKTUI_SYSTEM_METRICS": "0",
        "KERAS_BACKEND": "torch",
    }


def start() -> None:
    """Connect to the preloaded interpreter, starting it (it imports in the background)
    unless it runs."""
    global _server
    with _server_lock:
        if _server is None and AVAILABLE:
            _server = _Server()
            atexit.register(_server.close)


def _startup_differs(env: dict[str, str], base: dict[str, str]) -> bool:
    def startup(e: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in e.items() if k.startswith("PYTHON") or k in _STARTUP_VARIABLES}

    return startup(env) != startup(base)


class Forked:
    """The part of :class:`subprocess.Popen` the tests use, for a child of the server."""

    def __init__(self, pid: int, status: int, stdin: IO[str] | None, stdout: IO[str] | None,
                 stderr: IO[str] | None) -> None:  # fmt: skip
        self.pid = pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._status = status
        self.returncode: int | None = None

    def _collect(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            readable, _, _ = select.select([self._status], [], [], timeout)
            if readable:
                self.returncode = int(os.read(self._status, 32))
                os.close(self._status)
        return self.returncode

    def poll(self) -> int | None:
        return self._collect(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._collect(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(["preloaded child", str(self.pid)], timeout or 0)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # not reaped yet: the pid is still this child's
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start_preloaded(
    code: str,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: int | None = None,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
) -> Forked | subprocess.Popen[str]:
    """Like :func:`tests.helpers.start_python` (stdout and stderr piped, stdin piped only when
    ``stdin=subprocess.PIPE``), in a child of the preloaded interpreter."""
    start()
    full_env = {**_base_env(), **(env or {})}
    if _server is None or _startup_differs(full_env, _server.env):  # none, or not for this
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            stdin=stdin, stdout=stdout, stderr=stderr, text=True, env=full_env,
        )  # fmt: skip
    ends: list[IO[str] | None] = []
    theirs: list[int] = []
    ours_to_close: list[int] = []
    for index, choice in enumerate((stdin, stdout, stderr)):
        if choice == subprocess.PIPE:
            read, write = os.pipe()
            child_end, our_end = (read, write) if index == 0 else (write, read)
            theirs.append(child_end)
            ours_to_close.append(child_end)
            ends.append(open(our_end, "w" if index == 0 else "r"))  # noqa: SIM115
        elif choice is None or choice == subprocess.DEVNULL:
            null = os.open(os.devnull, os.O_RDWR)
            theirs.append(null)
            ours_to_close.append(null)
            ends.append(None)
        else:
            fileno = choice if isinstance(choice, int) else choice.fileno()
            theirs.append(fileno)
            ends.append(None)
    status_read, status_write = os.pipe()
    request = {"code": textwrap.dedent(code), "args": list(args), "env": full_env,
               "cwd": os.getcwd()}  # fmt: skip
    try:
        pid = _server.fork(request, [*theirs, status_write])
    finally:
        for fd in (*ours_to_close, status_write):
            os.close(fd)
    return Forked(pid, status_read, *ends)


def run_preloaded(
    code: str,
    *args: str,
    timeout: float = 120,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Like :func:`tests.helpers.run_python`, in a child of the preloaded interpreter."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = start_preloaded(code, *args, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err)  # fmt: skip
        try:
            returncode = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(
            ["preloaded", *args], returncode, out.read(), err.read()
        )
    if check and result.returncode != 0:
        raise AssertionError(
            f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result
