"""The runs table fits its width: long, CJK and emoji names are capped with ``…``, metric values
are shown whole or their column is left out (with a ``+N (o)`` hint), the health column leaves
the metrics on screen; ``tracktui ls`` lines its columns up by terminal cells."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.cells import cell_len

import tracker
from tui.app import TrackTuiApp
from tui.cli import main
from tui.formatting import format_number
from tui.widgets.runs_table import RunsTable

from .tui_helpers import TIMINGS, screen_lines, settle, wait_until

LONG = "a-very-long-run-name-" * 4 + "abcdefghijklmnopqrstuvwxyz"[:6]  # 90 characters
CJK = "日本語の実験名前テスト長い名前です🚀🚀"
VALUES = {"train/loss": 3.123456, "eval/loss": 2.3456789, "train/grad_norm": 1.2345678}


def make_db(path: Path, health: bool = False) -> Path:
    assert len(LONG) == 90
    for index, name in enumerate((LONG, CJK, "short")):
        run = tracker.init(name=name, project="p", db=path, config={"lr": 0.001 * (index + 1)})
        for step in range(20):
            run.log({key: value + index + step / 1000 for key, value in VALUES.items()}, step=step)
        if health and index == 0:
            run.alert("watch out", "the loss looks odd", level="WARN")
        run.finish()
    return path


async def table_lines(path: Path, size: tuple[int, int]) -> tuple[list[str], RunsTable]:
    app = TrackTuiApp(path, timings=TIMINGS)
    async with app.run_test(size=size) as pilot:
        await wait_until(
            pilot,
            lambda: (
                bool(app.screen.query(RunsTable)) and app.screen.query_one(RunsTable).row_count == 3
            ),
            what="three rows",
        )
        await settle(pilot)
        return screen_lines(app), app.screen.query_one(RunsTable)


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
@pytest.mark.parametrize("health", [False, True])
async def test_names_capped_and_values_whole(
    tmp_path: Path, size: tuple[int, int], health: bool
) -> None:
    db = make_db(tmp_path / "runs.db", health)
    lines, table = await table_lines(db, size)
    header = lines[1]
    rows = lines[2:5]
    assert all(cell_len(line) == size[0] for line in lines)
    assert "train/loss" in header and "eval/loss" in header  # metrics on screen
    assert ("health" in header) == health
    text = "\n".join(rows)
    assert LONG not in text and "…" in text  # the long name capped
    for index, name in enumerate((LONG, CJK, "short")):
        row = next(r for r in rows if name[:8] in r)
        for key in ("train/loss", "eval/loss"):  # each value whole, never cut mid-number
            value = format_number(VALUES[key] + index + 19 / 1000)
            assert re.search(rf"(^|\s){re.escape(value)}(\s|$)", row), (key, value, row)
        assert not re.search(r"\d\.$", row.rstrip())  # no value cut to '1.' at the edge
    if table.hidden:
        assert f"+{table.hidden} (o)" in header  # the hint: more columns, `o` chooses
    assert header.rstrip().split()[-1] != "eval/l"


async def test_a_narrow_pane_counts_the_columns_a_wide_one_shows(tmp_path: Path) -> None:
    """At 80 columns the defaults leave out what a wide pane shows (project, rate, best, trend,
    config): the hint counts those too, so a narrow pane says that `o` has more (it said
    nothing at 80 columns, and a count that did not match the wider pane's at 100)."""
    db = make_db(tmp_path / "runs.db")
    _, wide = await table_lines(db, (240, 50))
    wide_ids = set(wide.column_ids)
    for size in ((80, 24), (100, 30), (120, 36)):
        lines, table = await table_lines(db, size)
        missing = wide_ids - set(table.column_ids)
        assert missing, size
        hint = re.search(r"\+(\d+) \(o\)", lines[1])
        assert hint is not None, (size, lines[1])
        assert int(hint.group(1)) >= len(missing), (size, missing, lines[1])


def test_ls_aligns_columns_by_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_db(tmp_path / "runs.db")
    assert main(["--db", str(db), "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(CJK[:4] in line for line in lines)

    def project_at(line: str) -> int:
        """The cell where the PROJECT column starts on this line."""
        index = line.index("PROJECT") if "PROJECT" in line else line.index("  p  ") + 2
        return cell_len(line[:index])

    assert len({project_at(line) for line in lines}) == 1, lines
