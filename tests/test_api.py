"""tracker.Api, the read API: runs through the filter language, histories as DataFrames
(pandas, polars, numpy), summary tables of a sweep, media, and the guarantees around them
(read-only: a writer holding the lock never stops a read; hostile keys and values kept;
clear errors for bad filters, missing files and missing optional packages)."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracker
from tracker.api.frames import SeriesArrays, aligned, sample_rows
from tracker.api.media import open_image
from tracker.models import Point

from .helpers import ROOT, run_python, start_python

HOSTILE = "[bold]ü/λ<script>"  # a metric key: controls are refused at log()


def make_sweep(db: Path) -> dict[str, str]:
    """Three finished runs of project ``sweep``: lr 1e-2 (loss spikes to inf, a NaN), 1e-3
    (the best eval loss), 1e-4; train/loss every step, eval/loss every 10, an epoch counter."""
    ids = {}
    for lr, scale in ((1e-2, 3.0), (1e-3, 1.0), (1e-4, 2.0)):
        run = tracker.init(
            project="sweep", name=f"lr{lr:g}", db=db, quiet=True,
            config={"lr": lr, "optimizer": {"name": "adam", "beta1": 0.9}, "seed": 0},
        )  # fmt: skip
        for step in range(100):
            values: dict[str, Any] = {"train/loss": scale / (step + 1), "epoch": step // 25}
            if lr == 1e-2 and step == 40:
                values["train/loss"] = math.inf
            if lr == 1e-2 and step == 41:
                values["train/loss"] = math.nan
            if step % 10 == 9:
                values["eval/loss"] = scale / (step + 1) + 0.01
                values[HOSTILE] = -1.0
            run.log(values, step=step)
        run.summary["best_eval_loss"] = scale / 100 + 0.01
        ids[f"{lr:g}"] = run.id
        run.finish()
    return ids


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("sweep") / "runs.db"
    return db, make_sweep(db)


def test_runs_filter_and_sort_in_the_language_of_ls(sweep: tuple[Path, dict[str, str]]) -> None:
    db, ids = sweep
    with tracker.Api(db) as api:
        assert [r.id for r in api.runs()] == [ids["0.0001"], ids["0.001"], ids["0.01"]]
        small = api.runs(filter="cfg.lr<5e-3")
        assert {r.id for r in small} == {ids["0.001"], ids["0.0001"]}
        assert api.runs(sort="metrics.eval/loss")[0].name == "lr0.001"
        assert api.runs(sort="-config.lr")[0].name == "lr0.01"
        assert api.runs(order="+config.lr")[0].name == "lr0.0001"
        assert [r.name for r in api.runs("sweep", "cfg.optimizer.name=adam")] != []
        assert api.runs("no-such-project") == []
        assert api.projects() == ["sweep"]
        run = api.run(ids["0.001"])
        assert api.run(f"me/sweep/{run.id}").id == run.id  # a wandb path
        assert run.state == run.status == "finished"
        assert run.config["optimizer"] == {"name": "adam", "beta1": 0.9}
        assert run.summary == {"best_eval_loss": pytest.approx(0.02)}
        assert run.metrics["train/loss"].count == 100 and run.metrics["eval/loss"].count == 10
        assert HOSTILE in run.metric_keys and "epoch" in run.metric_keys
        with pytest.raises(KeyError, match="no run with id"):
            api.run("nope")


def test_bad_filters_and_sort_keys_raise_filter_error(sweep: tuple[Path, dict[str, str]]) -> None:
    db, _ = sweep
    api = tracker.Api(db)
    with pytest.raises(tracker.FilterError, match=r"cfg\.lr<<"):
        api.runs(filter="cfg.lr<<1")
    with pytest.raises(tracker.FilterError):
        api.runs(sort="no_such_field")
    with pytest.raises(TypeError, match="filter="):
        api.runs(filters={"config.lr": 0.001})


def test_history_aligns_keys_on_the_step_and_keeps_nonfinite_values(
    sweep: tuple[Path, dict[str, str]],
) -> None:
    db, ids = sweep
    run = tracker.Api(db).run(ids["0.01"])
    frame = run.history(keys=["train/loss", "eval/loss"])
    assert list(frame.columns) == ["step", "time", "train/loss", "eval/loss"]
    assert len(frame) == 100 and frame["step"].tolist() == list(range(100))
    assert frame["step"].dtype == np.int64 and frame["eval/loss"].dtype == np.float64
    assert frame["eval/loss"].notna().sum() == 10  # outer join: NaN between evaluations
    assert frame.loc[40, "train/loss"] == math.inf and math.isnan(frame.loc[41, "train/loss"])
    assert frame.loc[9, "eval/loss"] == pytest.approx(3.0 / 10 + 0.01)
    assert (frame["time"] >= 0).all() and frame["time"].is_monotonic_increasing
    everything = run.history()  # every key but sys/*, sorted; the hostile key kept as it is
    assert list(everything.columns) == ["step", "time", HOSTILE, "epoch", "eval/loss", "train/loss"]
    assert list(run.history(keys="eval/*").columns) == ["step", "time", "eval/loss"]
    only_eval = run.history(keys=["eval/loss"])
    assert only_eval["step"].tolist() == list(range(9, 100, 10))
    missing = run.history(keys=["train/loss", "never/logged"])
    assert missing["never/logged"].isna().all() and len(missing) == 100


def test_history_on_another_x(sweep: tuple[Path, dict[str, str]]) -> None:
    db, ids = sweep
    run = tracker.Api(db).run(ids["0.001"])
    by_epoch = run.history(keys=["eval/loss"], x="epoch")
    assert list(by_epoch.columns) == ["epoch", "step", "time", "eval/loss"]
    assert by_epoch["epoch"].tolist() == [s // 25 for s in range(9, 100, 10)]
    by_time = run.history(keys=["train/loss"], x="time")
    assert by_time.columns[0] == "time" and by_time["time"].is_monotonic_increasing
    stamped = run.history(keys=["train/loss"], x="timestamp")
    assert stamped["timestamp"].iloc[0] >= run.created_at
    with pytest.raises(KeyError, match="no metric 'nope'"):
        run.history(x="nope")


def test_samples_keep_every_key_s_extremes_and_nonfinite_points(
    sweep: tuple[Path, dict[str, str]],
) -> None:
    db, ids = sweep
    run = tracker.Api(db).run(ids["0.01"])
    sampled = run.history(keys=["train/loss"], samples=12)
    assert len(sampled) <= 12
    assert {40, 41} & set(sampled["step"].tolist())  # the window's inf or NaN survives
    assert sampled["step"].iloc[0] == 0 and sampled["step"].iloc[-1] == 99
    with pytest.raises(ValueError, match="positive"):
        run.history(samples=0)


def test_polars_numpy_and_scan_history(sweep: tuple[Path, dict[str, str]]) -> None:
    db, ids = sweep
    run = tracker.Api(db).run(ids["0.001"])
    frame = run.history(keys=["train/loss", "eval/loss"], format="polars")
    assert frame.columns == ["step", "time", "train/loss", "eval/loss"] and frame.height == 100
    arrays = run.history(keys=["train/loss"], format="numpy")
    assert arrays["step"].dtype == np.int64 and len(arrays["train/loss"]) == 100
    with pytest.raises(ValueError, match="format"):
        run.history(format="excel")
    rows = list(run.scan_history(keys=["eval/loss"]))
    assert len(rows) == 10 and rows[0]["_step"] == rows[0]["step"] == 9
    assert set(rows[0]) == {"step", "time", "_step", "_runtime", "eval/loss"}
    every = list(run.scan_history())
    assert len(every) == 100 and "eval/loss" not in every[0] and "eval/loss" in every[9]


def test_summary_table_finds_the_best_config(sweep: tuple[Path, dict[str, str]]) -> None:
    db, ids = sweep
    table = tracker.Api(db).summary_table(project="sweep", stats=("last", "min"))
    assert len(table) == 3 and table["id"].tolist() == [ids["0.0001"], ids["0.001"], ids["0.01"]]
    for column in (
        "config.lr", "config.optimizer.name", "config.optimizer.beta1", "summary.best_eval_loss",
        "metrics.eval/loss", "metrics.eval/loss.min", "metrics.train/loss", f"metrics.{HOSTILE}",
    ):  # fmt: skip
        assert column in table.columns, column
    assert str(table["created_at"].dtype).startswith("datetime64")
    best = table.groupby("config.lr")["metrics.eval/loss.min"].min().idxmin()
    assert best == pytest.approx(1e-3)
    assert table.loc[table["config.lr"] == 1e-2, "metrics.train/loss.min"].item() < 1
    polars = tracker.Api(db).runs().summary_table(format="polars")
    assert polars.height == 3 and "config.lr" in polars.columns
    assert "metrics.sys/cpu/util" not in table.columns


def test_history_of_many_runs_is_one_frame(sweep: tuple[Path, dict[str, str]]) -> None:
    db, _ = sweep
    runs = tracker.Api(db).runs(sort="config.lr")
    frame = runs.history(keys=["train/loss"])
    assert list(frame.columns) == ["run_id", "run_name", "step", "time", "train/loss"]
    assert len(frame) == 300 and str(frame["run_id"].dtype) == "category"
    assert frame.groupby("run_name", observed=True)["train/loss"].count().to_dict() == {
        "lr0.0001": 100, "lr0.001": 100, "lr0.01": 99,  # the NaN is not counted
    }  # fmt: skip
    assert runs.history(keys=["eval/loss"], format="polars").height == 30
    none = tracker.Api(db).history(filter="cfg.lr>1", keys=["train/loss"])
    assert none.empty and list(none.columns) == ["run_id", "run_name", "step", "time", "train/loss"]


def test_media_are_read_back_and_decoded(tmp_path: Path) -> None:
    db = tmp_path / "media.db"
    with tracker.init(project="media", db=db, quiet=True) as run:
        pixels = np.zeros((8, 6, 3), np.uint8)
        pixels[..., 0] = 200
        run.log(
            {
                "samples": tracker.Image(pixels, caption=f"epoch {HOSTILE}"),
                "preds": tracker.Table(columns=["x", "y"], rows=[[1, "a"], [2, "b"]]),
                "grads": tracker.Histogram(counts=[1, 2, 3], edges=[0.0, 1.0, 2.0, 3.0]),
                "cm": tracker.ConfusionMatrix([0, 1, 1], [0, 1, 0], labels=["cat", "dog"]),
            },
            step=3,
        )
        run.log({"samples": tracker.Image(pixels)}, step=4)
    api = tracker.Api(db)
    media = api.runs()[0].media()
    assert sorted({m.kind for m in media}) == ["confusion", "histogram", "image", "table"]
    images = api.runs()[0].media(key="samples")
    assert [m.step for m in images] == [3, 4] and images[0].caption == f"epoch {HOSTILE}"
    assert images[0].to_numpy().shape == (8, 6, 3) and images[0].to_numpy()[0, 0, 0] == 200
    assert images[0].to_pil().size == (6, 8) and images[0].data.startswith(b"\x89PNG")
    (table,) = api.runs()[0].media(kind="table")
    assert table.to_pandas().to_dict("list") == {"x": [1, 2], "y": ["a", "b"]}
    (hist,) = api.runs()[0].media(key="gra*", step=3)
    assert hist.to_pandas()["count"].tolist() == [1, 2, 3]
    (cm,) = api.runs()[0].media(key="cm")
    assert cm.to_numpy().tolist() == [[1, 0], [1, 1]]
    assert cm.to_pandas().loc["dog", "cat"] == 1
    images[1].save(tmp_path / "out.png")
    assert (tmp_path / "out.png").read_bytes() == images[1].data
    with pytest.raises(ValueError, match="not an image"):
        table.to_pil()


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="claims 100,000x100,000"):
        open_image(bomb)
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        open_image(b"GIF89a")


def test_missing_empty_and_foreign_databases(tmp_path: Path) -> None:
    with pytest.raises(tracker.DatabaseError, match="no such file"):
        tracker.Api(tmp_path / "nope.db")
    (tmp_path / "empty.db").write_bytes(b"")
    assert tracker.Api(tmp_path / "empty.db").runs() == []
    (tmp_path / "notes.txt").write_text("not a database " * 100)
    with pytest.raises(tracker.DatabaseError):
        tracker.Api(tmp_path / "notes.txt")
    with pytest.raises(tracker.DatabaseError, match="ftp"):
        tracker.Api("ftp://example.org/runs.db")


def test_several_files_and_folders_read_as_one(tmp_path: Path) -> None:
    for name in ("a", "b"):
        with tracker.init(
            project="p", name=name, db=tmp_path / "jobs" / f"{name}.db", quiet=True
        ) as r:
            r.log({"loss": 1.0}, step=0)
            r.log({"loss": 0.5}, step=1)
    by_folder = tracker.Api(tmp_path / "jobs").runs(sort="name")
    assert [r.name for r in by_folder] == ["a", "b"]
    assert by_folder.history(keys="loss")["loss"].tolist() == [1.0, 0.5, 1.0, 0.5]
    files = [tmp_path / "jobs" / "a.db", tmp_path / "jobs" / "b.db"]
    assert len(tracker.Api(files).summary_table()) == 2


def test_a_live_run_is_read_while_it_logs_and_refresh_sees_more(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    run = tracker.init(project="live", db=db, quiet=True)
    run.log({"loss": 1.0}, step=0)
    run.flush()
    api = tracker.Api(db)
    seen = api.runs()[0]
    assert seen.status == "running" and len(seen.history()) == 1
    run.log({"loss": 0.5}, step=1)
    run.finish()
    assert len(seen.history()) == 2  # points are read when asked for: the newest too
    assert seen.status == "running"  # the record is the one read when listed...
    assert seen.refresh().status == "finished" and seen.step == 1  # ...until read again


def test_reading_takes_no_lock_a_writer_holds_or_waits_for(
    sweep: tuple[Path, dict[str, str]],
) -> None:
    db, ids = sweep
    holder = start_python(
        f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(db)!r}, isolation_level=None, timeout=0)
        conn.execute("BEGIN IMMEDIATE")  # the write lock, held until told to let go
        conn.execute("UPDATE runs SET name = name WHERE 0")
        print("locked", flush=True)
        sys.stdin.readline()
        conn.execute("COMMIT")
        print("done", flush=True)
        """,
        stdin=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with tracker.Api(db) as api:  # opens, lists, reads points and media under the lock
            runs = api.runs(filter="cfg.lr<1")
            assert len(runs) == 3 and len(runs.history(keys=["train/loss"])) == 300
            assert len(api.summary_table()) == 3
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "done"  # the writer was never blocked
            # and with the Api still open, another writer takes the lock at once (timeout 0)
            conn = sqlite3.connect(db, isolation_level=None, timeout=0)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("COMMIT")
            conn.close()
            assert len(api.run(ids["0.001"]).history()) == 100
    finally:
        holder.kill()
        holder.wait()


def test_postgresql(pg_url: str) -> None:
    with tracker.init(
        project="pg", name="on-server", db=pg_url, config={"lr": 0.1}, quiet=True
    ) as r:
        for step in range(50):
            r.log({"loss": 1 / (step + 1), "nan": math.nan}, step=step)
    api = tracker.Api(pg_url)
    (run,) = api.runs(filter="cfg.lr=0.1")
    frame = run.history()
    assert frame["loss"].tolist() == [1 / (s + 1) for s in range(50)]
    assert frame["nan"].isna().all() and len(frame) == 50
    assert api.summary_table()["config.lr"].tolist() == [0.1]
    assert api.db.startswith("postgresql://")


def test_tracker_api_is_lazy_and_loads_no_write_side() -> None:
    result = run_python(
        """
        import sys, threading
        import tracker
        api_class = tracker.Api
        assert api_class.__module__ == "tracker.api", api_class.__module__
        loaded = [m for m in ("tracker.writer", "tracker.recorder", "tracker.process_runs",
                              "tracker.current", "psutil", "pynvml", "pandas", "polars")
                  if m in sys.modules]
        assert not loaded, loaded
        assert threading.active_count() == 1
        print("ok")
        """
    )
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("blocked", "extra", "fmt"), [("pandas", "analysis", "pandas"), ("polars", "polars", "polars")]
)
def test_a_missing_dataframe_library_names_its_extra(
    sweep: tuple[Path, dict[str, str]], blocked: str, extra: str, fmt: str
) -> None:
    db, _ = sweep
    result = run_python(
        f"""
        import sys
        sys.modules[{blocked!r}] = None  # as if not installed
        import tracker
        runs = tracker.Api({str(db)!r}).runs()
        assert len(runs[0].history(format="numpy")["step"]) == 100  # numpy needs neither
        try:
            runs[0].history(format={fmt!r})
        except ImportError as exc:
            print(exc)
        """
    )
    assert f"pip install 'tracktui[{extra}]'" in result.stdout


# --- the column building, against a plain-Python reference ------------------------------------
finite_or_not = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64), st.sampled_from([math.nan, math.inf])
)
series_points = st.lists(st.tuples(st.integers(0, 30), finite_or_not), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "λ"]), series_points, min_size=1))
def test_aligned_columns_match_a_reference(logged: dict[str, list[tuple[int, float]]]) -> None:
    series = {
        key: SeriesArrays.of([Point(i + 1, s, v, float(i)) for i, (s, v) in enumerate(points)])
        for key, points in logged.items()
    }
    columns = aligned(series)
    last: dict[str, dict[int, float]] = {k: dict(points) for k, points in logged.items()}
    steps = sorted({s for points in logged.values() for s, _ in points})
    assert columns.data["step"].tolist() == steps
    for key, by_step in last.items():
        for row, step in enumerate(steps):
            present = step in by_step
            assert bool(columns.present[key][row]) == present
            got = columns.data[key][row]
            if not present or math.isnan(by_step[step]):
                assert math.isnan(got)
            else:
                assert got == by_step[step]


@settings(max_examples=150, deadline=None)
@given(st.lists(finite_or_not, min_size=1, max_size=300), st.integers(1, 60))
def test_samples_are_bounded_and_keep_the_extremes(values: list[float], samples: int) -> None:
    points = [Point(i + 1, i, v, float(i)) for i, v in enumerate(values)]
    columns = aligned({"v": SeriesArrays.of(points)})
    out = sample_rows(columns, ["v"], samples)
    kept = out.data["step"].tolist()
    assert kept == sorted(set(kept))
    if len(values) <= samples:
        assert len(out) == len(values)
        return
    assert len(out) <= samples
    if samples < 4:
        return
    finite = [v for v in values if math.isfinite(v)]
    nonfinite = len(finite) < len(values)
    if finite:
        assert any(values[i] == min(finite) for i in kept)
        assert nonfinite or any(values[i] == max(finite) for i in kept)
    if nonfinite:  # a NaN or inf among the points: one of them survives
        assert any(not math.isfinite(values[i]) for i in kept)


@pytest.mark.slow  # two real PyTorch training processes
def test_the_example_notebook_script_finds_the_best_config(tmp_path: Path) -> None:
    db = tmp_path / "sweep.db"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "analyse_sweep.py"), "--db", str(db),
         "--lrs", "3e-3", "3e-2", "--steps", "40", "--eval-every", "20"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "TRACKTUI_SYSTEM_METRICS": "0"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "best config: lr=" in result.stdout
    runs = tracker.Api(db).runs(project="examples")
    assert len(runs) == 2 and all(r.status == "finished" for r in runs)
    best = min(runs, key=lambda r: r.metrics["eval/loss"].min or math.inf)
    assert f"best config: lr={best.config['lr']:g}" in result.stdout


def test_files_and_runs_a_folder_leaves_out_are_warned_about_and_listed(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    with tracker.init(project="p", name="a", db=jobs / "a.db", quiet=True) as r:
        r.log({"loss": 1.0}, step=0)
    with sqlite3.connect(jobs / "a.db") as src, sqlite3.connect(jobs / "b.db") as dst:
        src.backup(dst)  # a copy: the same run id in two files
    (jobs / "junk.db").write_bytes(b"\x1b[31m" + bytes(range(256)) * 20)
    with sqlite3.connect(jobs / "other.db") as other:
        other.execute("CREATE TABLE t (x)")
    with pytest.warns(tracker.api.LeftOutWarning) as caught:
        api = tracker.Api(jobs)
        assert [run.name for run in api.runs()] == ["a"]
        assert len(api.runs()) == 1  # the second read warns about nothing new
    reasons = {(Path(item.path).name, item.run_id): item.reason for item in api.left_out}
    assert set(reasons) == {("junk.db", None), ("other.db", None), ("b.db", r.id)}
    assert reasons["b.db", r.id] == "another file has its id"
    assert "refusing" not in reasons["other.db", None]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3 and all(m.startswith("tracker.Api left out ") for m in messages)
    assert not any("\x1b" in m for m in messages)
    assert tracker.Api(jobs / "a.db").left_out == []


def test_wandb_api_idioms(sweep: tuple[Path, dict[str, str]]) -> None:
    db, ids = sweep
    with tracker.Api(db) as api:
        assert [r.id for r in api.runs("me/sweep", per_page=50)] == [r.id for r in api.runs()]
        assert len(api.runs("sweep", include_sweeps=False, lazy=True)) == 3
        assert api.runs(order="+summary_metrics.best_eval_loss")[0].id == ids["0.001"]
        run = api.run(ids["0.001"])
        assert run.url == f"{db.absolute().as_uri()}#run={run.id}"
        assert run.summary_metrics["best_eval_loss"] == run.summary["best_eval_loss"]
        assert run.summary_metrics["eval/loss"] == run.metrics["eval/loss"].last
        rows = run.history(keys=["eval/loss", "train/loss"], pandas=False)
        assert isinstance(rows, list) and len(rows) == 100
        assert rows[9]["_step"] == rows[9]["step"] == 9 and "eval/loss" in rows[9]
        assert "eval/loss" not in rows[0] and rows[0]["train/loss"] == pytest.approx(1.0)
        frame = run.history(keys=["eval/loss"], x_axis="_step")
        assert list(frame.columns) == ["step", "time", "eval/loss"]
        scanned = list(run.scan_history(keys=["eval/loss"], page_size=1000, min_step=10))
        assert [row["_step"] for row in scanned] == list(range(19, 100, 10))
        assert [r["step"] for r in run.scan_history(keys="eval/loss", max_step=20)] == [9, 19]


def test_read_errors_are_worded_for_a_read(tmp_path: Path) -> None:
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "events.out.tfevents.1").write_bytes(b"x")
    with pytest.raises(tracker.DatabaseError, match=r"no tracktui database in .*tb") as missing:
        tracker.Api(tmp_path / "tb")
    assert "no such file" not in str(missing.value)
    with sqlite3.connect(tmp_path / "mlflow.db") as other:
        other.execute("CREATE TABLE experiments (x)")
    with pytest.raises(tracker.NotATrackerDatabase) as foreign:
        tracker.Api(tmp_path / "mlflow.db")
    assert "refusing" not in str(foreign.value) and "to read" in str(foreign.value)


def test_a_relogged_step_shows_its_last_value_and_the_stats_count_every_point(
    tmp_path: Path,
) -> None:
    """The documented semantics (README): history() keeps the last value logged at a step;
    run.metrics' min/max/count are over every point stored, the replaced one included."""
    with tracker.init(project="p", db=tmp_path / "r.db", quiet=True) as r:
        r.log({"a": 1.0}, step=4)
        r.log({"a": 1e308}, step=5)
        r.log({"a": 7.0}, step=5)
    run = tracker.Api(tmp_path / "r.db").runs()[0]
    assert run.history(keys="a")["a"].tolist() == [1.0, 7.0]
    stats = run.metrics["a"]
    assert (stats.last, stats.count, stats.max) == (7.0, 3, 1e308)


def test_keys_with_brackets_are_themselves_and_patterns_still_work(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    with tracker.init(project="br", name="b", db=db, quiet=True) as run:
        for step in range(5):
            run.log({"loss[0]": step * 1.0, "acc[top1]": step / 10, "plain": step})
    with tracker.init(project="br", name="other", db=db, quiet=True) as run:
        run.log({"plain": 1.0})
    api = tracker.Api(db)
    indexed = api.runs(filter="name=b")[0]
    frame = indexed.history(keys=["loss[0]", "acc[top1]"])
    assert list(frame.columns) == ["step", "time", "loss[0]", "acc[top1]"]
    assert frame["loss[0]"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert list(indexed.history(keys="loss[[]0]").columns) == ["step", "time", "loss[0]"]
    assert list(indexed.history(keys="*[[]*").columns) == ["step", "time", "acc[top1]", "loss[0]"]
    stacked = api.runs().history(keys=["loss[0]", "plain"])  # "other" lacks loss[0]: NaN
    assert stacked["loss[0]"].notna().sum() == 5 and len(stacked) == 6
    rows = list(indexed.scan_history(keys=["acc[top1]"]))
    assert [r["acc[top1]"] for r in rows] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert "metrics.loss[0]" in api.runs().summary_table(metrics=["loss[0]"]).columns


def test_an_x_no_run_has_raises_with_close_names(sweep: tuple[Path, dict[str, str]]) -> None:
    runs = tracker.Api(sweep[0]).runs()
    with pytest.raises(KeyError, match="close: epoch"):
        runs.history(x="epcoh")
    with pytest.raises(KeyError, match="close: epoch"):
        runs[0].history(x="epcoh")


def test_a_missing_path_among_several_is_an_error(
    sweep: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    typo = tmp_path / "sweep_typo.db"
    with pytest.raises(tracker.DatabaseError, match=r"sweep_typo\.db: no such file or folder$"):
        tracker.Api([sweep[0], typo])
    with pytest.raises(tracker.DatabaseError, match=r"did you mean filter='cfg.lr<0.05'\?"):
        tracker.Api([sweep[0], "cfg.lr<0.05"])
    (tmp_path / "folder").mkdir()  # an empty folder beside a file: its files may come later
    assert len(tracker.Api([sweep[0], tmp_path / "folder"]).runs()) == 3
