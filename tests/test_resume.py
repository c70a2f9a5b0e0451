"""Resume: a requeued job continues its run (``init(id=..., resume=...)`` and the launcher's
environment), with wandb's rules for ``allow``/``must``/``never``/``auto``.

The main test is a real job: a process logs, is SIGKILLed mid-run, and is started again with
the same id; the run keeps its history, its steps go on, its status is running again, and the
crash before the resume stays visible as an event.

Every test that touches a database runs on both backends (``any_db``: a SQLite file and a
PostgreSQL database).
"""

from __future__ import annotations

import json
import os
import signal

import pytest

import tracker
from tracker.db import open_store
from tracker.errors import NoDatabaseYet, ResumeError
from tracker.models import CRASHED, FINISHED, LIVE, MetricSummary, RunEvent, RunRecord

from .helpers import run_python, start_python

_JOB = """
    import sys, tracker
    run = tracker.init(project="p", name="job", db=sys.argv[1], config={"lr": 0.1},
                       console=False)
    print("started", run.id, run.step, run.resumed, flush=True)
    start = run.step
    for step in range(start, start + int(sys.argv[2])):
        run.log({"loss": 1.0 / (step + 1), "iter": step * 10}, step=step)
        if step % 10 == 9:
            assert run.flush(30)
            print("flushed", step, flush=True)
    if sys.argv[3] == "hang":
        sys.stdin.readline()  # killed here
    run.finish()
    print("done", run.step, flush=True)
"""


def _read(db: str, run_id: str):  # type: ignore[no-untyped-def]
    reader = open_store(db)
    try:
        return reader.read_run(run_id), reader.history(reader.series_id(run_id, "loss"))
    finally:
        reader.close()


def test_a_sigkilled_job_started_again_continues_its_run(any_db: str) -> None:
    env = {"TRACKTUI_RUN_ID": "job-1234", "TRACKTUI_RESUME": "allow"}
    first = start_python(_JOB, any_db, "30", "hang", env=env, stdin=-1)
    assert first.stdout is not None
    assert first.stdout.readline().split() == ["started", "job-1234", "0", "False"]
    for expected in (9, 19, 29):
        assert first.stdout.readline().split() == ["flushed", str(expected)]
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    record, _ = _read(any_db, "job-1234")
    assert record.status == CRASHED and record.step == 29

    second = run_python(_JOB, any_db, "20", "finish", env=env)
    assert "started job-1234 30 True" in second.stdout
    assert "done 50" in second.stdout
    assert "resumed at step 29" in second.stderr
    record, points = _read(any_db, "job-1234")
    assert record.status == FINISHED and record.step == 49
    assert [p.step for p in points] == list(range(50)), "history kept, steps continue"
    assert record.metrics["loss"].count == 50
    assert record.config == {"lr": 0.1}
    (event,) = record.resumes
    assert event.step == 29 and event.detail["previous_status"] == CRASHED
    assert event.detail["previous_pid"] == first.pid
    listed = json.loads(run_python(
        "import sys; from tui.cli import main; main(['ls', '--db', sys.argv[1], '--json'])",
        any_db,
    ).stdout)  # fmt: skip
    assert listed[0]["events"][0]["kind"] == "resumed"
    assert listed[0]["events"][0]["detail"]["previous_status"] == CRASHED


def test_wandb_environment_names_work_too(any_db: str) -> None:
    env = {"WANDB_RUN_ID": "wandb-id", "WANDB_RESUME": "allow"}
    run_python(_JOB, any_db, "5", "finish", env=env)
    out = run_python(_JOB, any_db, "5", "finish", env=env).stdout
    assert "started wandb-id 5 True" in out and "done 10" in out


def test_resume_rules(any_db: str) -> None:
    with pytest.raises(ResumeError, match="no run with id 'nope'"):
        tracker.init(db=any_db, id="nope", resume="must", quiet=True)
    run = tracker.init(db=any_db, id="fixed", resume="never", quiet=True)
    run.log({"x": 1.0})
    with pytest.raises(ResumeError, match="still being recorded by process"):
        tracker.init(db=any_db, id="fixed", resume="allow", quiet=True, reinit="create_new")
    run.finish()
    with pytest.raises(ResumeError, match="already exists"):
        tracker.init(db=any_db, id="fixed", resume="never", quiet=True)
    with pytest.raises(ResumeError, match="resume='allow'"):
        tracker.init(db=any_db, id="fixed", quiet=True)  # an id alone never takes a run over
    with pytest.raises(ResumeError, match="belongs to project 'tests', not 'other'"):
        tracker.init(db=any_db, id="fixed", resume="allow", project="other", quiet=True)
    again = tracker.init(db=any_db, id="fixed", resume="must", quiet=True, config={"b": 2})
    assert again.resumed and again.step == 1 and again.id == "fixed"
    again.log({"x": 2.0})
    assert again.step == 2
    again.finish()
    reader = open_store(any_db)
    (record,) = reader.read_runs()
    reader.close()
    assert record.metrics["x"].count == 2 and record.config == {"b": 2}
    assert record.resumes[0].detail["previous_status"] == FINISHED


def test_resume_auto_continues_the_newest_crashed_run_of_the_project(any_db: str) -> None:
    code = """
        import os, sys, tracker
        run = tracker.init(project="auto", name="same", db=sys.argv[1], console=False)
        run.log({"loss": 1.0})
        run.flush(30)
        print(run.id, flush=True)
        os.kill(os.getpid(), 9)
    """
    crashed = run_python(code, any_db, check=False).stdout.strip()
    run = tracker.init(project="auto", name="same", db=any_db, resume=True, quiet=True)
    assert run.id == crashed and run.resumed and run.step == 1
    run.finish()
    fresh = tracker.init(project="auto", name="same", db=any_db, resume="auto", quiet=True)
    assert fresh.id != crashed and not fresh.resumed, "a finished run is not resumed by auto"


def test_a_bad_run_id_or_resume_value_is_refused_before_anything_is_written(
    any_db: str,
) -> None:
    for bad in ("a/b", "has space", "", "x" * 200, "q?"):
        with pytest.raises(ValueError, match="run id"):
            tracker.init(db=any_db, id=bad, quiet=True)
    with pytest.raises(ValueError, match="resume must be"):
        tracker.init(db=any_db, resume="sometimes", quiet=True)
    with pytest.raises(NoDatabaseYet):  # no file, no schema: nothing was written
        open_store(any_db)


def test_a_resumed_run_is_live_in_the_reader(any_db: str) -> None:
    run = tracker.init(db=any_db, id="r1", quiet=True)
    run.finish()
    resumed = tracker.init(db=any_db, id="r1", resume="allow", quiet=True)
    assert resumed.flush(30)
    reader = open_store(any_db)
    (record,) = reader.read_runs()
    reader.close()
    assert record.status == LIVE and record.finished_at is None and record.exit_code is None
    resumed.finish()


def _record(step: int, created: float, updated: float, events: list[RunEvent], **metrics: tuple):  # type: ignore[no-untyped-def,type-arg]
    return RunRecord(
        id="r", name="r", project="p", status=LIVE, stored_status=LIVE, created_at=created,
        updated_at=updated, finished_at=None, host="h", pid=1, pid_start=None, step=step,
        tags=[], config={}, summary={}, exit_code=None, error=None, dropped=0, version=1,
        metrics={
            key: MetricSummary(i, key, count, last, low, last, step, 0)
            for i, (key, (count, low, last)) in enumerate(metrics.items())
        },
        events=events,
    )  # fmt: skip


def test_steps_per_s_counts_from_the_last_resume_not_over_the_downtime() -> None:
    """A job resumed after an hour down runs at full speed again: steps/s says so."""
    resumed = RunEvent(1, "r", 4000.0, 99, "resumed", None, None, "resumed", {})
    # 100 steps in the first 100 s, an hour down, then 100 more steps in 50 s
    record = _record(199, 0.0, 4050.0, [resumed])
    assert record.steps_per_s == pytest.approx(100 / 50)
    assert _record(199, 0.0, 4050.0, []).steps_per_s == pytest.approx(200 / 4050)
    counted = _record(199, 0.0, 4050.0, [resumed], global_step=(200, 0.0, 199 * 8.0))
    assert counted.steps_per_s == pytest.approx(8 * 100 / 50), "in the run's own steps"
