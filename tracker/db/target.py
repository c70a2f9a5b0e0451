"""Where runs are stored: a SQLite file (a path, the default) or a PostgreSQL server (a URL).

``db`` arguments, ``$TRACKTUI_DB`` and ``tracktui --db`` all go through :func:`parse_target`.
A string with a URL scheme is a server: ``postgresql://`` and ``postgres://`` are spoken, any
other scheme is refused (a typo must not silently become a folder named ``postgresql:`` holding
a SQLite file). Credentials never leave this module unmasked: :attr:`Target.shown` is what every
message, listing and screen prints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ..errors import DatabaseError, DatabaseUnavailable
from ..paths import resolve_db_path

POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SECRET_PARAMS = frozenset({"password", "sslpassword", "passfile"})
MASK = "***"

Kind = Literal["sqlite", "postgresql", "files"]


@dataclass(frozen=True, slots=True)
class Target:
    """One database: ``kind``, and either ``path`` (SQLite) or ``url`` (PostgreSQL); or,
    kind ``files``, several SQLite files and folders of them (``paths``), shown as one
    read-only collection."""

    kind: Kind
    path: Path | None = None
    url: str | None = field(default=None, repr=False)
    shown: str = ""
    paths: tuple[Path, ...] = ()

    def __str__(self) -> str:
        return self.shown

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    def sqlite_path(self) -> Path:
        if self.path is None:
            raise TypeError(f"{self.shown} is not a SQLite file")
        return self.path


def several(locations: Sequence[str | os.PathLike[str]], filter_option: str = "filter=") -> Target:
    """One target for several SQLite files or folders of them (one file stays a file).

    Each path named must exist: among several, one that does not is a typo, not a file to
    wait for (a folder's files may still come and go), so it raises ``DatabaseError``
    (``filter_option``: see :func:`missing_reason`)."""
    paths = tuple(Path(os.fspath(p)).expanduser() for p in locations)
    for location in locations:
        text = os.fspath(location)
        if isinstance(text, str) and is_url(text):
            raise DatabaseUnavailable(
                mask_url(text), "only SQLite files and folders can be shown together"
            )
    if len(paths) > 1:
        for path in paths:
            if not _exists(path):
                raise DatabaseError(str(path), missing_reason(str(path), filter_option))
    if len(paths) == 1 and not _is_folder(paths[0]):
        return Target("sqlite", path=paths[0], shown=str(paths[0]))
    return Target("files", paths=paths, shown=", ".join(str(p) for p in paths))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # there but not to be looked at: opening it says why


FILTER_OPERATORS = ("<", ">", "=", "~")


def looks_like_filter(text: str) -> bool:
    """Whether a database argument that is not a path reads as a filter expression
    (``cfg.lr<0.05``, ``status=finished``)."""
    return any(op in text for op in FILTER_OPERATORS)


def missing_reason(text: str, option: str = "filter=") -> str:
    """Why a named path cannot be read: there is none (and, when it reads as a filter
    expression, the ``option`` that takes one: ``filter=`` of the API, ``--filter `` of
    the command line)."""
    if looks_like_filter(text):
        quoted = "'" + text.replace("'", "'\"'\"'") + "'"  # as a shell reads it back
        return f"no such file or folder; did you mean {option}{quoted}?"
    return "no such file or folder"


def is_url(text: str) -> bool:
    return _SCHEME.match(text) is not None


def parse_target(db: str | os.PathLike[str] | Target | None = None) -> Target:
    """``db``, else ``$TRACKTUI_DB``, else ``./.tracktui/runs.db``, as a :class:`Target`."""
    if isinstance(db, Target):
        return db
    text = os.fspath(db) if db is not None else ""
    if not text:
        text = os.environ.get("TRACKTUI_DB", "")
    if text and isinstance(text, str):
        if is_conninfo(text):
            return Target("postgresql", url=text, shown=_mask_conninfo(text))
        match = _SCHEME.match(text)
        if match is not None:
            scheme = match.group(1).lower()
            if scheme in POSTGRES_SCHEMES:
                url = scheme + text[len(match.group(1)) :]  # libpq knows the scheme in lower case
                return Target("postgresql", url=url, shown=mask_url(url))
            if scheme == "file":
                path = Path(urlsplit(text).path)
                return Target("sqlite", path=path, shown=str(path))
            raise DatabaseUnavailable(
                mask_url(text),
                f"tracktui cannot store runs at a {scheme}:// URL: give a SQLite file path "
                "(runs.db) or a PostgreSQL URL (postgresql://user@host/dbname)",
            )
    path = resolve_db_path(text or None)
    if _is_folder(path):
        return Target("files", paths=(path,), shown=str(path))
    return Target("sqlite", path=path, shown=str(path))


def _is_folder(path: Path) -> bool:
    """A folder of databases; a path that cannot be looked at counts as a file, so that
    opening it reports why (a folder that cannot be entered, say)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def mask_url(url: str) -> str:
    """``url`` with its password (and secret query parameters) replaced by ``***``.

    Plain string work, not a URL parser: a password holding an unencoded ``@``, ``/``, ``?``
    or ``#`` is masked up to the last ``@`` (masking too much, never too little), and the
    rest is shown as it was given."""
    match = _SCHEME.match(url)
    if match is None:
        return _mask_conninfo(url)
    head, rest = url[: match.end()], url[match.end() :]
    at = rest.rfind("@")
    if at >= 0:
        userinfo, rest = rest[:at], rest[at:]
        if ":" in userinfo:
            userinfo = f"{userinfo.split(':', 1)[0]}:{MASK}"
        head += userinfo
    query_at = rest.find("?")
    if query_at >= 0:
        pairs = rest[query_at + 1 :].split("&")
        rest = rest[: query_at + 1] + "&".join(
            f"{pair.split('=', 1)[0]}={MASK}"
            if pair.split("=", 1)[0].lower() in _SECRET_PARAMS
            else pair
            for pair in pairs
        )
    return head + rest


_CONNINFO = re.compile(r"^\s*(host|hostaddr|dbname|user|port|password|service|sslmode)\s*=", re.I)
_CONNINFO_SECRET = re.compile(
    r"\b(password|sslpassword|passfile)(\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)", re.I
)


def is_conninfo(text: str) -> bool:
    """libpq's keyword form: ``host=db.internal dbname=tracking user=train``."""
    return _CONNINFO.match(text) is not None


def _mask_conninfo(text: str) -> str:
    return _CONNINFO_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def scrub(text: str, target: Target) -> str:
    """``text`` (an error message of a driver, say) without the target's secrets: the URL
    as given becomes the masked one, and a password only where it stands as one (after
    ``user:`` or ``password=``), never wherever the same letters happen to appear."""
    if target.url is None:
        return text
    out = text.replace(target.url, target.shown)
    match = _SCHEME.match(target.url)
    if match is not None:
        rest = target.url[match.end() :]
        at = rest.rfind("@")
        if at >= 0 and ":" in rest[:at]:
            password = rest[:at].split(":", 1)[1]
            out = out.replace(f":{password}@", f":{MASK}@")
    return _mask_conninfo(out)
