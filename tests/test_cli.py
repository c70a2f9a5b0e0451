"""``tracktui ls`` and ``tracktui best`` against real databases written by real runs."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from pathlib import Path

import pytest

import tracker
from tui.cli import main

from .helpers import run_python

JSON_FIELDS = {
    "id", "name", "project", "status", "created_at", "updated_at", "duration_s", "step", "host",
    "pid", "tags", "config", "summary", "metrics",
}  # fmt: skip


@pytest.fixture
def sweep(db_path: Path) -> Path:
    specs = [
        ("lr-1e-4", 1e-4, [2.0, 1.6, 1.5], ["sweep"]),
        ("lr-3e-4", 3e-4, [2.0, 1.4, 1.31, 1.35], ["sweep", "best-guess"]),
        ("lr-1e-2", 1e-2, [2.0, 5.0, math.nan], ["sweep", "debug"]),
    ]
    for name, lr, losses, tags in specs:
        run = tracker.init(
            project="llm",
            name=name,
            config={"lr": lr, "opt": {"name": "adamw"}},
            tags=tags,
            db=db_path,
            quiet=True,
        )
        for step, loss in enumerate(losses):
            run.log(
                {"eval/loss": loss, "train/loss": loss - 0.1, "eval/accuracy": 1 / (1 + loss)},
                step=step * 100,
            )
        run.summary["note"] = name
        run.finish()
    other = tracker.init(project="other", name="elsewhere", db=db_path, quiet=True)
    other.log({"eval/loss": 0.1})
    other.finish()
    return db_path


def ls_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["ls", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_ls_json_has_the_contract_fields(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = ls_json(capsys, "--db", str(sweep))
    assert [r["name"] for r in runs] == [
        "elsewhere",
        "lr-1e-2",
        "lr-3e-4",
        "lr-1e-4",
    ]  # newest first
    for run in runs:
        assert set(run) >= JSON_FIELDS
    lr3 = runs[2]
    assert (
        lr3["status"] == "finished"
        and lr3["step"] == 300
        and lr3["tags"] == ["sweep", "best-guess"]
    )
    assert lr3["config"] == {"lr": 3e-4, "opt": {"name": "adamw"}} and lr3["summary"] == {
        "note": "lr-3e-4"
    }
    assert lr3["metrics"]["eval/loss"] == {
        "last": 1.35,
        "min": 1.31,
        "max": 2.0,
        "step": 300,
        "count": 4,
    }  # type: ignore[index]
    diverged = runs[1]["metrics"]["eval/loss"]  # type: ignore[index]
    assert diverged["last"] == "NaN" and diverged["max"] == 5.0  # valid JSON, NaN distinguishable
    assert str(lr3["created_at"]).endswith("+00:00")


def test_ls_filter_sort_project(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(sweep)]
    assert [r["name"] for r in ls_json(capsys, *db, "--project", "llm", "--sort", "config.lr")] == [
        "lr-1e-4",
        "lr-3e-4",
        "lr-1e-2",
    ]
    assert [r["name"] for r in ls_json(capsys, *db, "--sort", "metrics.eval/loss", "--desc")] == [
        "lr-1e-4",
        "lr-3e-4",
        "elsewhere",
        "lr-1e-2",
    ]
    assert [r["name"] for r in ls_json(capsys, *db, "--filter", "cfg.lr<1e-3 NOT tag=debug")] == [
        "lr-3e-4",
        "lr-1e-4",
    ]
    assert [r["name"] for r in ls_json(capsys, *db, "--filter", "m.eval/loss<1.4")] == [
        "elsewhere",
        "lr-3e-4",
    ]


def test_ls_table(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(sweep), "ls", "--sort", "metrics.eval/loss"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:7] == [
        "ID",
        "NAME",
        "PROJECT",
        "STATUS",
        "STEP",
        "CREATED",
        "DURATION",
    ]
    assert "eval/loss" in lines[0]
    assert [line.split()[1] for line in lines[1:]] == ["elsewhere", "lr-3e-4", "lr-1e-4", "lr-1e-2"]
    assert "nan" in lines[4]


def test_best_agrees_with_min_and_max(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["best", "--metric", "eval/loss", "--db", str(sweep), "--project", "llm", "--json"])
        == 0
    )
    chosen = json.loads(capsys.readouterr().out)
    assert chosen["name"] == "lr-3e-4" and chosen["best"] == {
        "metric": "eval/loss",
        "mode": "min",
        "value": 1.31,
    }
    assert (
        main(["best", "--metric", "eval/accuracy", "--db", str(sweep), "--project", "llm"]) == 0
    )  # max guessed
    assert capsys.readouterr().out.startswith("lr-3e-4 ")
    assert (
        main(
            [
                "best",
                "--metric",
                "eval/loss",
                "--mode",
                "max",
                "--db",
                str(sweep),
                "--filter",
                "NOT tag=debug",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith(
        "lr-1e-4 "
    )  # its worst value, 2.0, ties; the older run wins


def test_best_without_metric(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["best", "--metric", "nope", "--db", str(sweep)]) == 1
    err = capsys.readouterr().err
    assert "no run has a finite value of 'nope'" in err and "eval/loss" in err


def test_bad_filter_and_sort_exit_2(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--db", str(sweep), "--filter", "cfg.lr<"]) == 2
    assert "expected a value after '<'" in capsys.readouterr().err
    assert main(["ls", "--db", str(sweep), "--sort", "bogus"]) == 2
    assert "unknown field 'bogus'" in capsys.readouterr().err


def test_missing_empty_foreign_and_newer_databases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    assert main(["ls", "--db", str(missing), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [] and not missing.exists()
    assert main(["ls", "--db", str(missing)]) == 0
    assert "no runs in" in capsys.readouterr().err
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE x (y)")
    conn.commit()
    conn.close()
    assert main(["ls", "--db", str(foreign)]) == 1
    assert "another program" in capsys.readouterr().err
    text = tmp_path / "notes.db"
    text.write_text("hello")
    assert main(["best", "--metric", "x", "--db", str(text)]) == 1
    assert "not a SQLite database" in capsys.readouterr().err


def test_markup_and_escapes_in_names_are_printed_inertly(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(name="[bold]x[/] [@click=app.quit]", db=db_path, quiet=True)
    run.log({"loss": 1.0})
    run.finish()
    conn = sqlite3.connect(db_path)  # a hostile file: escapes written behind the tracker's back
    conn.execute("UPDATE runs SET project = 'p\x1b]0;HACKED\x07\u202ename'")
    conn.commit()
    conn.close()
    assert main(["ls", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "p\\x1b]0;HACKED" in out
    assert "[bold]x[/] [@click=app.quit]" in out
    assert main(["ls", "--db", str(db_path), "--json"]) == 0
    assert (
        json.loads(capsys.readouterr().out)[0]["project"] == "p\x1b]0;HACKED\x07\u202ename"
    )  # JSON escapes it


def test_entry_point_runs_as_a_process(sweep: Path) -> None:
    result = run_python(
        "from tui.cli import main; raise SystemExit(main())", "ls", "--db", str(sweep), "--json"
    )
    assert len(json.loads(result.stdout)) == 4


@pytest.mark.parametrize(
    "kind, first",
    [("csv", "ID,NAME,PROJECT"), ("md", "| ID | NAME |"), ("tex", "\\begin{tabular}")],
)
def test_ls_formats(sweep: Path, capsys: pytest.CaptureFixture[str], kind: str, first: str) -> None:
    assert main(["ls", "--db", str(sweep), "--format", kind, "--sort", "name"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(first)
    assert out.index("elsewhere") < out.index("lr-1e-2") < out.index("lr-1e-4")


def test_ls_csv_holds_values_for_programs(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Markdown and LaTeX show cells as a person reads them; CSV holds what a program reads
    back: 12345 not "12,345", every digit of a float, nothing for a missing value."""
    with tracker.init(project="p", name="a", db=db_path, quiet=True) as run:
        run.log({"loss": 0.123456789012, "other": 1.0}, step=12_345)
    with tracker.init(project="p", name="b", db=db_path, quiet=True) as run:
        run.log({"loss": float("nan")}, step=1)
    assert main(["ls", "--db", str(db_path), "--format", "csv", "--sort", "name"]) == 0
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    first, second = records
    assert first["STEP"] == "12345" and first["loss"] == "0.123456789012"
    assert float(first["DURATION (s)"]) >= 0 and first["CREATED"].endswith("+00:00")
    assert second["other"] == "" and second["loss"] == "nan"
    assert main(["ls", "--db", str(db_path), "--format", "md", "--sort", "name"]) == 0
    assert "12,345" in capsys.readouterr().out


def test_refresh_comes_from_the_flag_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.cli import refresh_interval

    monkeypatch.delenv("TRACKTUI_REFRESH", raising=False)
    assert refresh_interval(None) == 0.2
    assert refresh_interval(0.5) == 0.5
    monkeypatch.setenv("TRACKTUI_REFRESH", "1.5")
    assert refresh_interval(None) == 1.5
    monkeypatch.setenv("TRACKTUI_REFRESH", "fast")
    with pytest.raises(SystemExit, match="not a number"):
        refresh_interval(None)
    with pytest.raises(SystemExit, match="between 0 and 10"):
        refresh_interval(-1.0)


def test_ls_and_best_take_databases_as_arguments_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tracktui ls a.db b.db``, ``tracktui a.db b.db ls`` and ``ls --db a --db b`` agree."""
    for name, loss in (("a", 1.0), ("b", 0.5)):
        run = tracker.init(project="p", name=name, db=str(tmp_path / f"{name}.db"), quiet=True)
        run.log({"loss": loss}, step=0)
        run.finish()
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    listings = []
    for argv in (
        ["ls", "--json", a, b],
        [a, b, "ls", "--json"],
        ["ls", "--json", "--db", a, "--db", b],
    ):
        assert main(argv) == 0
        listings.append(sorted(r["name"] for r in json.loads(capsys.readouterr().out)))
    assert listings == [["a", "b"]] * 3
    assert main(["best", "--metric", "loss", "--json", a, b]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "b"


def test_ls_names_a_missing_database_and_a_filter_given_as_one(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = str(tmp_path / "typo.db")
    for argv in (
        ["ls", str(sweep), typo],
        [str(sweep), typo, "ls"],
        ["ls", "--db", str(sweep), "--db", typo],
    ):
        assert main(argv) == 1
        captured = capsys.readouterr()
        assert f"{typo}: no such file or folder" in captured.err and captured.out == ""
    assert main(["ls", str(sweep), "cfg.lr<0.05"]) == 1
    assert "did you mean --filter 'cfg.lr<0.05'?" in capsys.readouterr().err
    assert main(["ls", "status=finished"]) == 1
    assert "did you mean --filter 'status=finished'?" in capsys.readouterr().err


def test_sync_copies_in_pages_of_the_size_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tracker.db import open_store

    source, copy = tmp_path / "node.db", tmp_path / "copy.db"
    with tracker.init(project="p", db=source, quiet=True, system_metrics=False) as run:
        for step in range(25):
            run.log({"loss": float(step)}, step=step)
    for bad in ("0", "-1", "abc"):
        with pytest.raises(SystemExit) as refused:
            main(["sync", str(source), str(copy), "--page-points", bad])
        assert refused.value.code == 2
        assert "expected a whole number of 1 or more" in capsys.readouterr().err
    assert not copy.exists(), "a refused argument writes nothing"
    assert main(["sync", str(source), str(copy), "--page-points", "4"]) == 0
    assert "25 points" in capsys.readouterr().out
    store = open_store(copy)
    try:
        (record,) = store.read_runs()
        assert [p.value for p in store.history(record.metrics["loss"].series_id)] == [
            float(step) for step in range(25)
        ]
    finally:
        store.close()
