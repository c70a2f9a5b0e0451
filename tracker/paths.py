"""Where the database lives: default path resolution and private file creation."""

from __future__ import annotations

import errno
import os
from pathlib import Path

ENV_VAR = "TRACKTUI_DB"
DEFAULT_RELATIVE = Path(".tracktui") / "runs.db"

# Filesystems on which SQLite's WAL mode is unsafe (shared memory does not cross hosts).
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smbfs",
        "smb3",
        "lustre",
        "gpfs",
        "cephfs",
        "ceph",
        "beegfs",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.sshfs",
        "9p",
        "afs",
    }
)


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """The database path: ``db`` if given, else ``$TRACKTUI_DB``, else ``./.tracktui/runs.db``."""
    if db is not None and str(db) != "":
        return Path(db).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return DEFAULT_RELATIVE


def ensure_private_file(path: Path) -> bool:
    """Create missing parent folders (0700) and the file itself (0600); True if it was created.

    Existing folders and files keep their modes: they belong to the user already. A symlink
    whose target does not exist yet (a dangling link) is followed: its final target is created
    the same way, as a regular file, so the database, and the ``-wal``/``-shm`` files SQLite
    makes beside it with the same mode, are private too. An existing file is never opened
    (closing any descriptor of a database drops SQLite's locks in this process).
    """
    target = _dangling_target(path)
    if target is None:
        if os.path.lexists(path):
            return False  # an existing file, folder or link to one: left as it is
        target = path
    make_private_dirs(target.parent)
    try:
        # O_EXCL: never follows a symlink and never opens a file that exists (a race lost)
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    os.close(fd)
    return True


def _dangling_target(path: Path) -> Path | None:
    """The path a chain of symlinks at ``path`` ends at, when nothing exists there yet."""
    if not os.path.islink(path) or os.path.exists(path):
        return None
    current = path
    for _ in range(40):  # the kernel's own limit on links followed (ELOOP)
        # each link relative to the real folder it is in, as the kernel resolves it
        current = Path(os.path.realpath(current.parent)) / os.readlink(current)
        if not os.path.islink(current):
            return Path(os.path.realpath(current.parent)) / current.name
    raise OSError(errno.ELOOP, f"too many levels of symbolic links at {path}")


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0700 (``os.makedirs`` only sets
    the mode of the last one)."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (from /proc/self/mounts), or None if unknown."""
    try:
        target = os.path.realpath(path if path.exists() else path.parent)
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            entries = [line.split() for line in mounts]
    except OSError:
        return None
    best, best_len = None, -1
    for fields in entries:
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best_len:
            best, best_len = fields[2], len(mount_point)
    return best


def is_network_filesystem(path: Path) -> bool:
    fs_type = filesystem_type(path)
    return fs_type is not None and fs_type.lower() in NETWORK_FILESYSTEMS
