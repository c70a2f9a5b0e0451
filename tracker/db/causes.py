"""Why a write failed, in the words the writer reports and acts on, for every backend.

Each store's ``classify()`` maps its driver's errors (by result code or SQLSTATE, never by
message text) to one of these; :func:`classify_common` covers what is not a driver error.
"""

from __future__ import annotations

import errno

from ..errors import DatabaseUnavailable, ServerUnreachable

BUSY = "database locked by another process"
DISK = "disk full or write error"
READONLY = "database not writable"
CORRUPT = "database corrupt"
RECORD = "a record the database refuses"
LOST = "connection to the database server lost"

DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT})


def classify_common(exc: BaseException) -> str:
    """The cause of an error that did not come from a driver (opening, the file system)."""
    if isinstance(exc, ServerUnreachable):
        return LOST
    if isinstance(exc, DatabaseUnavailable):
        return BUSY if exc.busy else READONLY
    if isinstance(exc, OSError):
        return DISK if exc.errno in DISK_ERRNOS else READONLY
    return type(exc).__name__
