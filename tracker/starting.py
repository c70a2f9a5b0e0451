"""The start of a run: its row inserted (or a stored run resumed), waiting out other writers.

Many processes may call ``init()`` at the same instant (a sweep, the ranks of a job). Each
attempt waits at most SQLite's busy timeout; a busy database is tried again with jittered
backoff until ``$TRACKTUI_INIT_TIMEOUT``, then refused with an error that says how long it
waited. The open connection is handed to the writer thread.

Resuming follows wandb's ``resume=``: ``"allow"`` continues the run with that id if there is
one, ``"must"`` requires it, ``"never"`` refuses it, and ``"auto"`` without an id continues
the newest crashed run of the project on this host (with the same name, when one is given).
The decision and the update happen in the one write transaction, so two processes cannot both
resume one run; a run whose process is still alive is never taken over.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .db import Store, Target, open_store, transaction
from .db.retry import retry_while_busy
from .errors import DatabaseUnavailable, ResumeError, warn_once
from .jsonable import dumps
from .models import CRASHED, LIVE
from .settings import init_timeout
from .status import derive_status
from .stored_json import loads_json

WAIT_MS = 15_000  # the longest one attempt waits for another writer's lock


@dataclass(slots=True)
class Started:
    """The writer's store, the stored run this one continues (None for a new run), and the
    series that run holds already (key -> ``(id, count, min, max, nonfinite)``)."""

    store: Store
    resumed: dict[str, Any] | None = None
    series: dict[str, tuple[int, int, float | None, float | None, int]] = field(
        default_factory=dict
    )


def record_run(
    db: Target,
    row: Mapping[str, Any],
    *,
    resume: str | None = None,
    id_given: bool = False,
    name_given: bool = False,
    project_given: bool = False,
) -> Started:
    """Open (creating if needed) the database; insert ``row`` into ``runs``, or resume."""

    def attempt(seconds_left: float) -> Started:
        wait_ms = int(min(seconds_left, WAIT_MS / 1000) * 1000)
        store = open_store(db, write=True, wait_ms=max(wait_ms, 50))
        try:
            version = store.begin()
            resumed = _start(
                store, row, version, resume, id_given, name_given, project_given, db.shown
            )
            store.commit()
        except BaseException as exc:
            store.rollback()
            store.close()
            if isinstance(exc, store.errors()) and not isinstance(exc, OSError):
                if store.is_busy(exc):
                    raise DatabaseUnavailable(db.shown, str(exc), busy=True) from None
                raise DatabaseUnavailable(db.shown, f"cannot record the run: {exc}") from None
            raise
        store.set_wait(WAIT_MS)
        return Started(store, resumed, stored_series(store, row["id"]) if resumed else {})

    return retry_while_busy(attempt, init_timeout(), db.shown, "cannot start the run")


def attach_run(db: Target, run_id: str, label: str, host: str, pid: int) -> Started:
    """Join run ``run_id``, started by another node of the same job: wait (up to
    ``$TRACKTUI_INIT_TIMEOUT``) for its row to appear, then record this node as an event.
    Nothing of the run's row changes: it stays the primary node's to finish."""
    deadline = time.monotonic() + init_timeout()
    delay = 0.1
    while True:
        store = open_store(db, write=True)
        try:
            with transaction(store) as version:
                stored = store.stored_run(run_id)
                if stored is not None:
                    detail = dumps({"host": host, "pid": pid, "node": label})
                    title = f"{label} attached"
                    store.insert_events(
                        [(run_id, time.time(), stored["step"], "node", label, None, title, detail)],
                        version,
                    )
        except BaseException:
            store.close()
            raise
        if stored is not None:
            return Started(store, stored, stored_series(store, run_id))
        store.close()
        if delay == 0.1:
            warn_once(
                f"attach-wait:{run_id}",
                f"node {label}: waiting for run {run_id} to appear in {db.shown} (the job's "
                f"first node starts it; up to {init_timeout():g} s, $TRACKTUI_INIT_TIMEOUT)",
            )
        if time.monotonic() + delay > deadline:
            raise ResumeError(
                f"{db.shown}: no run with id {run_id!r} to attach to after {init_timeout():g} s; "
                "the job's first node starts it (init(id=...)), the others attach "
                "(init(id=..., attach=True), $TRACKTUI_ATTACH=1, or a node rank above 0)"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def stored_series(
    store: Store, run_id: str
) -> dict[str, tuple[int, int, float | None, float | None, int]]:
    """What a continued run holds already: the writer numbers its points after these (a key
    it does not know starts at 1, which makes a batch re-sent after a lost acknowledgement
    land on the points it stored the first time)."""
    record = store.read_run(run_id)
    if record is None:
        return {}
    return {
        key: (m.series_id, m.count, m.min, m.max, m.nonfinite) for key, m in record.metrics.items()
    }


def _start(
    store: Store,
    row: Mapping[str, Any],
    version: int,
    resume: str | None,
    id_given: bool,
    name_given: bool,
    project_given: bool,
    shown: str,
) -> dict[str, Any] | None:
    stored = None
    if id_given:
        stored = store.stored_run(row["id"])
    elif resume == "auto":
        stored = _crashed_candidate(store, row, name_given)
    if stored is None:
        if resume == "must":
            raise ResumeError(
                f"{shown}: no run with id {row['id']!r} to resume (resume='must'); "
                "use resume='allow' to start it when it does not exist"
            )
        store.insert_run(row, version)
        return None
    if resume in (None, "never"):
        raise ResumeError(
            f"{shown}: a run with id {row['id']!r} already exists ({stored['name']}); pass "
            "resume='allow' (or set $TRACKTUI_RESUME=allow) to continue it, or choose another id"
        )
    if project_given and stored["project"] != row["project"]:
        raise ResumeError(
            f"{shown}: run {stored['id']!r} belongs to project {stored['project']!r}, not "
            f"{row['project']!r}; run ids are unique in a database, so choose another id to "
            "start a run in this project"
        )
    status = _status_of(stored)
    if status == LIVE:
        raise ResumeError(
            f"{shown}: run {stored['name']} ({stored['id']}) is still being recorded by process "
            f"{stored['pid']} on {stored['host']}; it cannot be resumed while that process runs"
        )
    _resume(store, stored, row, version, status, name_given)
    return stored


def _status_of(stored: Mapping[str, Any]) -> str:
    return derive_status(
        stored["status"], stored["host"], stored["pid"], stored["pid_start"], stored["updated_at"]
    )


def _crashed_candidate(
    store: Store, row: Mapping[str, Any], name_given: bool
) -> dict[str, Any] | None:
    for stored in store.newest_resumable(
        row["project"], row["host"], row["name"] if name_given else None
    ):
        if _status_of(stored) == CRASHED:
            return stored
    return None


def _resume(
    store: Store,
    stored: dict[str, Any],
    row: Mapping[str, Any],
    version: int,
    previous_status: str,
    name_given: bool,
) -> None:
    config: dict[str, Any] = loads_json(stored["config"], {})
    config.update(loads_json(row["config"], {}))
    tags = [str(t) for t in loads_json(stored["tags"], [])]
    tags += [t for t in loads_json(row["tags"], []) if t not in tags]
    name = row["name"] if name_given else stored["name"]
    now = time.time()
    store.resume_run(
        {
            "id": stored["id"],
            "name": name,
            "host": row["host"],
            "pid": row["pid"],
            "pid_start": row["pid_start"],
            "now": now,
            "tags": dumps(tags),
            "config": dumps(config),
        },
        version,
    )
    detail = {
        "previous_status": previous_status,
        "previous_host": stored["host"],
        "previous_pid": stored["pid"],
        "last_heartbeat": stored["updated_at"],
        "exit_code": stored["exit_code"],
        "error": stored["error"],
    }
    title = f"resumed after {previous_status}" + (
        f" at step {stored['step']:,}" if stored["step"] is not None else ""
    )
    store.insert_events(
        [(stored["id"], now, stored["step"], "resumed", None, None, title, dumps(detail))],
        version,
    )
    stored.update(name=name, config=config, tags=tags, previous_status=previous_status)
