"""``tracktui export``: histories (wide and long) and summary tables as CSV, JSON Lines and
Parquet, read back by pandas and pyarrow; NaN kept apart from "no point here"; text from the
database escaped on stdout; clear exits for bad input."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

import tracker
from tracker.errors import DatabaseError, FilterError
from tui import cli, export_cli

ESCAPE_NAME = "evil\x1b]0;pwned\x07name"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "runs.db"
    for lr, name in ((1e-3, "good"), (1e-2, ESCAPE_NAME)):
        with tracker.init(project="p", name=name, db=path, config={"lr": lr}, quiet=True) as run:
            for step in range(20):
                values = {"train/loss": 1 / (step + 1), "sys/cpu/util": 50.0}
                if step % 5 == 4:
                    values["eval/loss"] = math.nan if lr == 1e-2 and step == 9 else 0.5
                run.log(values, step=step)
            run.summary["note"] = "<script>alert(1)</script>"
    return path


def export(*argv: str) -> int:
    """``tracktui export ...`` as tui.cli.main runs it (its error handling included)."""
    args = cli.build_parser().parse_args(["export", *argv])
    try:
        return export_cli.run(args)
    except FilterError as exc:
        cli.emit(f"tracktui: bad expression: {exc}", error=True)
        return 2
    except DatabaseError as exc:
        cli.emit(f"tracktui: {exc}", error=True)
        return 1


def test_history_csv_is_wide_and_read_back_by_pandas(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "h.csv"
    assert export("--db", str(db), "-o", str(out), "--sort", "config.lr") == 0
    assert "wrote 40 rows of 2 runs" in capsys.readouterr().err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["run_id", "run_name", "step", "time", "eval/loss", "train/loss"]
    assert len(frame) == 40 and frame["run_name"].iloc[0] == "good"
    assert frame["run_name"].iloc[-1] == ESCAPE_NAME  # a file gets the text as stored
    assert frame["eval/loss"].notna().sum() == 7  # 8 evaluations, one of them NaN
    rows = list(csv.reader(out.open()))
    bad = next(r for r in rows if r[1] == ESCAPE_NAME and r[2] == "9")
    assert bad[4] == "nan"  # a logged NaN...
    assert next(r for r in rows if r[2] == "3")[4] == ""  # ...is not a step without a point


def test_long_layout_and_chosen_metrics(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "long.csv"
    assert export("--db", str(db), "--layout", "long", "--metrics", "eval/*", "-o", str(out)) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["run_id", "run_name", "step", "time", "key", "value"]
    assert set(frame["key"]) == {"eval/loss"} and len(frame) == 8
    assert export("--db", str(db), "--metrics", "sys/*", "-o", str(out)) == 0
    assert list(pd.read_csv(out).columns)[-1] == "sys/cpu/util"  # named, so exported


def test_stdout_escapes_text_from_the_database(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export("--db", str(db), "name~evil") == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "evil\\x1b]0;pwned\\x07name" in printed
    assert export("--db", str(db), "--format", "jsonl", "--layout", "long", "name~evil") == 0
    lines = capsys.readouterr().out.splitlines()
    assert all("\x1b" not in line for line in lines)
    records = [json.loads(line) for line in lines]  # valid JSON that round-trips exactly
    assert {r["run_name"] for r in records} == {ESCAPE_NAME}
    assert {"key": "eval/loss", "value": "NaN"}.items() <= next(
        r for r in records if r["step"] == 9 and r["key"] == "eval/loss"
    ).items()


def test_jsonl_wide_leaves_out_keys_without_a_point(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export("--db", str(db), "--format", "jsonl", "name=good") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 20 and "eval/loss" not in records[0] and records[4]["eval/loss"] == 0.5


def test_parquet_history_keeps_null_apart_from_nan(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.parquet"
    assert export("--db", str(db), "--format", "parquet", "-o", str(out)) == 0
    table = pq.read_table(out)
    assert table.num_rows == 40 and table.schema.field("step").type == "int64"
    assert set(table.column("run_name").to_pylist()) == {"good", ESCAPE_NAME}
    evals = table.column("eval/loss")
    assert evals.null_count == 32  # no point at that step
    values = [v for v in evals.to_pylist() if v is not None]
    assert sum(math.isnan(v) for v in values) == 1  # the logged NaN is a NaN, not a null
    long = tmp_path / "l.parquet"
    assert export("--db", str(db), "--format", "parquet", "--layout", "long", "-o", str(long)) == 0
    long_frame = pq.read_table(long).to_pandas()
    assert len(long_frame) == 40 + 8 and set(long_frame["key"]) == {"eval/loss", "train/loss"}
    assert str(long_frame["run_id"].dtype) == "category"


def test_summary_in_every_format(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export("--db", str(db), "--what", "summary", "-o", str(tmp_path / "s.csv")) == 0
    frame = pd.read_csv(tmp_path / "s.csv")
    assert len(frame) == 2 and {"config.lr", "summary.note", "metrics.train/loss"} <= set(frame)
    assert "metrics.sys/cpu/util" not in frame.columns
    assert frame["summary.note"].iloc[0] == "<script>alert(1)</script>"
    assert export("--db", str(db), "--what", "summary", "--format", "parquet", "-o",
                  str(tmp_path / "s.parquet")) == 0  # fmt: skip
    parquet = pd.read_parquet(tmp_path / "s.parquet")
    assert str(parquet["created_at"].dtype).startswith("datetime64")
    assert sorted(parquet["config.lr"]) == [1e-3, 1e-2]
    capsys.readouterr()
    assert export("--db", str(db), "--what", "summary", "--format", "jsonl") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["name"] for r in records} == {"good", ESCAPE_NAME}
    assert all(r["created_at"].endswith("+00:00") for r in records)


def test_x_and_samples(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert export("--db", str(db), "--x", "time", "--samples", "6", "-o", str(out)) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns)[:4] == ["run_id", "run_name", "step", "time"]
    assert frame.groupby("run_id").size().max() <= 6


def test_bad_input_exits_clearly(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export("--db", str(db), "--format", "parquet") == 2
    assert "give -o FILE.parquet" in capsys.readouterr().err
    assert export("--db", str(db), "cfg.lr<<1") == 2
    assert "bad expression" in capsys.readouterr().err
    assert export("--db", str(tmp_path / "missing.db")) == 1
    assert "no such file" in capsys.readouterr().err
    assert export("--db", str(db), "name=nobody") == 0
    assert "no runs match" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["export", "--samples", "0"])
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["export", "--format", "xlsx"])


def test_the_parser_takes_a_filter_of_several_words() -> None:
    args = cli.build_parser().parse_args(
        ["export", "status=finished", "cfg.lr<1e-3", "--db", "a.db"]
    )
    assert isinstance(args, argparse.Namespace)
    assert args.filter_words == ["status=finished", "cfg.lr<1e-3"] and args.sub_db == ["a.db"]


@pytest.mark.skipif(
    "export" not in cli.COMMANDS,
    reason="tui.cli.COMMANDS lacks the module commands: split_databases takes 'export' for a "
    "database (the lead's fix in tui/cli.py)",
)
def test_through_tracktui_main(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", "--db", str(db), "--what", "summary"]) == 0
    assert len(list(csv.reader(io.StringIO(capsys.readouterr().out)))) == 3
    assert cli.main([str(db), "export", "--what", "summary"]) == 0
    assert cli.main(["export", "--db", str(db), "cfg.lr<<1"]) == 2


@pytest.fixture(scope="module")
def bracket_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys with glob characters in their names, and an ``epoch`` only one run logs."""
    path = tmp_path_factory.mktemp("brackets") / "runs.db"
    with tracker.init(project="b", name="indexed", db=path, quiet=True) as run:
        for step in range(5):
            run.log({"loss[0]": step * 1.0, "acc[top1]": step / 10, "[bold]x[/bold]": 1.0})
    with tracker.init(project="b", name="epochs", db=path, quiet=True) as run:
        for step in range(4):
            run.log({"loss[0]": 2.0, "epoch": step // 2}, step=step)
    return path


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("format", ["csv", "jsonl", "parquet"])
def test_keys_with_brackets_are_exported_as_themselves(
    bracket_db: Path, tmp_path: Path, layout: str, format: str
) -> None:
    out = tmp_path / f"b.{format}"
    assert (
        export("--db", str(bracket_db), "--format", format, "--layout", layout, "-o", str(out)) == 0
    )
    if format == "parquet":
        frame = pq.read_table(out).to_pandas()
    elif format == "csv":
        frame = pd.read_csv(out)
    else:
        frame = pd.read_json(out, lines=True)
    if layout == "wide":
        assert {"loss[0]", "acc[top1]", "[bold]x[/bold]", "epoch"} <= set(frame.columns)
        assert frame["loss[0]"].notna().sum() == 9
    else:
        assert sorted(set(frame["key"])) == ["[bold]x[/bold]", "acc[top1]", "epoch", "loss[0]"]
        assert len(frame) == 5 * 3 + 4 * 2


def test_metrics_naming_a_bracket_key_exports_its_column(
    bracket_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export("--db", str(bracket_db), "--metrics", "loss[0]") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["run_id", "run_name", "step", "time", "loss[0]"] and len(rows) == 10
    assert export("--db", str(bracket_db), "--metrics", "loss[[]0]", "--what", "summary") == 0
    assert "metrics.loss[0]" in capsys.readouterr().out  # a pattern still works as one


def test_a_metric_or_x_that_no_run_has_is_an_error_before_writing(
    bracket_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kept.csv"
    out.write_text("earlier export\n")
    assert export("--db", str(bracket_db), "--x", "epcoh", "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "--x epcoh" in err and "close: epoch" in err and "acc[top1]" in err
    assert export("--db", str(bracket_db), "--metrics", "nomatch/*", "-o", str(out)) == 2
    assert "--metrics nomatch/* matches no metric" in capsys.readouterr().err
    assert export("--db", str(bracket_db), "--metrics", "los[0]", "--what", "summary") == 2
    assert "close: loss[0]" in capsys.readouterr().err
    assert out.read_text() == "earlier export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.csv"]  # no temporary file left


def test_runs_without_the_x_metric_are_named(
    bracket_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "e.csv"
    assert export("--db", str(bracket_db), "--x", "epoch", "-o", str(out)) == 0
    err = capsys.readouterr().err
    indexed = tracker.Api(bracket_db).runs(filter="name=indexed")[0].id
    assert f"left out 1 run without epoch: {indexed}" in err
    assert "wrote 4 rows of 1 run" in err
    assert set(pd.read_csv(out)["run_name"]) == {"epochs"}


def test_a_failed_export_leaves_the_earlier_file(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "h.parquet"
    out.write_bytes(b"earlier")
    (tmp_path / "h.parquet.d").mkdir()  # nothing may be renamed over a folder
    assert export("--db", str(db), "--format", "parquet", "-o", str(tmp_path / "h.parquet.d")) != 0
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.parquet", "h.parquet.d"]
    assert export("--db", str(db), "--format", "parquet", "-o", str(out)) == 0
    assert pq.read_table(out).num_rows == 40
