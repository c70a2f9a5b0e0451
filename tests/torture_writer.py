"""One training process of the torture test (tests/test_torture.py), and what it logs.

Run as ``python tests/torture_writer.py DB INDEX SEED MODE SECONDS END`` with the project on
``PYTHONPATH``. Every value is a pure function of (writer, step, key), so the test can check
each point in the file without being told what was logged: at step ``s`` writer ``w`` logs the
keys ``m0 .. m{keys_at(w, s) - 1}``, each with ``value_at(w, s, k)``.

What it prints on stdout, one line each, flushed at once (the test's only source of truth):
``started RUN``, ``ack RUN STEP`` (``flush()`` returned True: every point up to STEP is
committed), ``nack RUN STEP`` (it returned False), ``limited BYTES`` / ``restored`` (the
disk-full phase: RLIMIT_FSIZE set just above the file or at 16 KiB, then raised back),
``recovered RUN STEP`` (the first acknowledged flush after that), ``finished RUN STEP``
(``finish()`` returned) and
``exiting RUN STEP`` (it returns and leaves ``finish()`` to atexit, or, with END ``abandon``,
leaves with ``os._exit`` and never finishes).

MODE is ``normal`` or ``diskfull``; END is ``finish``, ``atexit`` or ``abandon``.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time

MAX_KEYS = 8
BATCH_STEPS = (1, 5, 50, 300)  # steps logged between two looks at the clock
FLUSH_TIMEOUTS = (0.05, 0.5, 5.0)
RECOVER_WITHIN_S = 60.0


def keys_at(writer: int, step: int) -> int:
    """How many keys (m0, m1, ...) writer ``writer`` logs at ``step``: 1 to MAX_KEYS."""
    return 1 + (((writer * 7919 + step) * 2654435761) >> 11) % MAX_KEYS


def value_at(writer: int, step: int, key: int) -> float:
    """The value of key ``m{key}`` at ``step``; some are NaN or ±inf, deterministically."""
    r = (writer * 31 + step * 7 + key) % 211
    if r == 0:
        return math.nan
    if r == 1:
        return math.inf
    if r == 2:
        return -math.inf
    return writer * 1000.0 + step * 0.5 + key


def steps_of(writer: int, key: int, last_step: int) -> list[int]:
    """Every step at which ``m{key}`` is logged, up to ``last_step`` included."""
    return [s for s in range(last_step + 1) if keys_at(writer, s) > key]


def _say(*words: object) -> None:
    print(*words, flush=True)


def main(argv: list[str]) -> int:
    db, writer, seed, mode, seconds, end = (
        argv[0],
        int(argv[1]),
        int(argv[2]),
        argv[3],
        float(argv[4]),
        argv[5],
    )
    import resource

    import tracker

    rng = random.Random(seed * 1_000_003 + writer)
    run = tracker.init(project="torture", name=f"w{writer}", db=db, quiet=True, console=False)
    _say("started", run.id)
    start = time.monotonic()
    deadline = start + seconds
    limit_at = start + rng.uniform(1.0, max(1.0, seconds / 2)) if mode == "diskfull" else None
    restore_at = 0.0
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    acked = False
    step = 0
    while time.monotonic() < deadline:
        for _ in range(rng.randint(1, rng.choice(BATCH_STEPS))):
            run.log(
                {f"m{k}": value_at(writer, step, k) for k in range(keys_at(writer, step))},
                step=step,
            )
            step += 1
        now = time.monotonic()
        if limit_at is not None and acked and now >= limit_at:
            size = max(
                (os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)),
                default=0,
            )
            # just above the file and its WAL (what fits then depends on where the WAL restarts),
            # or no room at all for this process (always for w1: every test has one episode)
            limit = size + 64 * 1024 if writer != 1 and rng.random() < 0.5 else 16 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
            _say("limited", limit)
            limit_at = None
            restore_at = now + rng.uniform(1.0, 4.0)
        elif restore_at and now >= restore_at:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            _say("restored")
            restore_at = 0.0
            give_up = time.monotonic() + RECOVER_WITHIN_S
            while not run.flush(5.0):
                if time.monotonic() > give_up:
                    _say("stuck", run.id, step - 1)
                    return 3
            _say("recovered", run.id, step - 1)
            _say("ack", run.id, step - 1)
        if rng.random() < 0.3 or restore_at:  # while the disk is full: a flush after each batch
            if run.flush(rng.choice(FLUSH_TIMEOUTS)):
                _say("ack", run.id, step - 1)
                acked = True
            else:
                _say("nack", run.id, step - 1)
        time.sleep(rng.uniform(0.005, 0.08))
    if restore_at:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        _say("restored")
    if end == "finish":
        run.finish()
        _say("finished", run.id, step - 1)
        return 0
    _say("exiting", run.id, step - 1)
    if end == "abandon":
        sys.stdout.flush()
        os._exit(0)
    return 0  # atexit finishes the run


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
