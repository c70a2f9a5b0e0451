"""``tracktui report`` against real databases: the demo database (every section filled), the
runs in the filter's order, one line per run per chart, min/max downsampling of 100k-point
series (a one-point spike and dip survive), the file's size for 10 runs x 100k points, the
exit codes and messages, atomic overwrite, and PostgreSQL."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tracker
from tracker.batch import RunHandle, write_batch
from tracker.db import open_store, parse_target
from tracker.filters import filter_runs
from tracker.jsonable import dumps
from tracker.models import Bucket
from tui.cli import main
from tui.demo_db import build_demo_database
from tui.report.charts import TOP, line_chart, linear_ticks
from tui.report.downsample import read_downsampled
from tui.report.model import Series

SECTIONS = ("runs", "charts", "config", "summary", "hardware", "media", "health")


class Page(HTMLParser):
    """The elements of a page with the section (and chart) each one sits in."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], str | None, str | None]] = []
        self.text: dict[str | None, list[str]] = {}
        self._section: list[tuple[str, str | None]] = []
        self._figure: list[tuple[str, str | None]] = []
        self._stack: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("section", "footer"):
            self._section.append((tag, values.get("id")))
        if tag == "figure":
            self._figure.append((tag, values.get("data-metric")))
        section = self._section[-1][1] if self._section else None
        figure = self._figure[-1][1] if self._figure else None
        self.elements.append((tag, values, section, figure))
        if tag not in ("meta", "img", "br", "line", "polygon", "rect", "input"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("section", "footer") and self._section:
            self._section.pop()
        if tag == "figure" and self._figure:
            self._figure.pop()
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        section = self._section[-1][1] if self._section else None
        self.text.setdefault(section, []).append(data)

    def find(self, tag: str, section: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [
            values
            for t, values, s, _ in self.elements
            if t == tag
            and (section is None or s == section)
            and all(values.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def words(self, section: str | None) -> str:
        return " ".join(self.text.get(section, []))


def make_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo_database(path, runs=6, steps=200)
    return path


@pytest.fixture(scope="module")
def demo_page(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Page]:
    output = tmp_path_factory.mktemp("out") / "report.html"
    assert main(["report", "--db", str(demo), "-o", str(output)]) == 0
    text = output.read_text("utf-8")
    return text, Page(text)


def test_demo_report_has_every_section_filled(demo_page: tuple[str, Page], demo: Path) -> None:
    text, page = demo_page
    ids = [values.get("id") for tag, values, *_ in page.elements if tag == "section"]
    assert ids == list(SECTIONS)
    assert page.find("footer", id="provenance")
    for section in SECTIONS:
        assert not page.find("p", section, **{"class": "none"}), f"{section} says it has nothing"
    csp = page.find("meta", http_equiv="Content-Security-Policy")
    assert csp and "default-src 'none'" in csp[0]["content"]
    assert page.find("table", "runs", id="runs-table")
    keys = [th["data-key"] for th in page.find("th", "runs") if "data-key" in th]
    assert {"status", "name", "step", "last:train/loss"} <= set(keys)
    assert [f["data-metric"] for f in page.find("figure", "charts", **{"class": "chart"})] == [
        "train/loss", "eval/loss", "train/grad_norm",
    ]  # fmt: skip
    images = page.find("img", "media")
    assert images and all(i["src"].startswith("data:image/png;base64,") for i in images)
    assert page.find("table", "media", **{"class": "confusion"})
    assert page.find("svg", "media", **{"class": "histogram"})
    assert page.find("table", "media", **{"class": "media-table"})
    assert page.find("svg", "hardware", **{"class": "spark"})
    assert "GPU 0" in page.words("hardware")
    assert "loss spike" in page.words("health")
    footer = page.words("provenance")
    assert str(demo) in footer and tracker.__version__ in footer
    assert "↓ min" in page.words("summary") and "best_eval_loss" in page.words("summary")
    assert "lora.r" in page.words("config")
    # nothing that could reach the network: no external sources, links or fonts
    for tag, values, *_ in page.elements:
        for name in ("src", "href", "xlink:href", "action"):
            value = values.get(name, "")
            assert not value or value.startswith(("data:", "#")), (tag, name, value[:40])
    assert "<link" not in text and "@import" not in text and "url(" not in text


def test_table_keeps_the_filters_order_and_colours_match(demo: Path, tmp_path: Path) -> None:
    output = tmp_path / "finished.html"
    assert main(["report", "status=finished", "--db", str(demo), "-o", str(output)]) == 0
    page = Page(output.read_text("utf-8"))
    store = open_store(demo)
    try:
        expected = [r.id for r in filter_runs(store.read_runs(), "status=finished")]
    finally:
        store.close()
    rows = [tr["data-run"] for tr in page.find("tr", "runs") if "data-run" in tr]
    assert rows == expected and len(rows) == 3
    assert not page.find("section", id="health")  # the finished runs raised no health event
    assert "status=finished" in page.words("provenance")
    data = json.loads(_json_block(output.read_text("utf-8")))
    assert [run["id"] for run in data["runs"]] == expected
    colors = {run["id"]: run["color"] for run in data["runs"]}
    for path in page.find("path", "charts", **{"class": "line"}):
        assert path["stroke"] == colors[path["data-run"]]


def _json_block(text: str) -> str:
    start = text.index('<script type="application/json" id="report-data">')
    body = text[start:].split(">", 1)[1]
    return body.split("</script>", 1)[0]


def test_one_path_per_run_per_metric(demo_page: tuple[str, Page], demo: Path) -> None:
    _, page = demo_page
    store = open_store(demo)
    try:
        runs = store.read_runs()
    finally:
        store.close()
    for metric in ("train/loss", "eval/loss", "train/grad_norm"):
        paths = [
            values["data-run"]
            for tag, values, section, figure in page.elements
            if tag == "path" and figure == metric
        ]
        logged = [r.id for r in runs if r.metrics.get(metric) and r.metrics[metric].count]
        assert sorted(paths) == sorted(logged) and len(paths) == len(set(paths)), metric


def test_runs_and_metrics_chosen(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "two.html"
    code, out, err = make_report(
        capsys, "--db", str(demo), "--runs", "demo0001", "demo0004", "--metrics",
        "eval/accuracy", "no/such", "-o", str(output),
    )  # fmt: skip
    assert code == 0, err
    assert "2 runs, 2 charts" in out and str(output) in out
    assert "no chosen run logged 'no/such'" in err
    page = Page(output.read_text("utf-8"))
    rows = [tr["data-run"] for tr in page.find("tr", "runs") if "data-run" in tr]
    assert rows == ["demo0004", "demo0001"]  # the store's order (newest first), not the asked
    figures = [f["data-metric"] for f in page.find("figure", "charts")]
    assert figures == ["eval/accuracy", "no/such"]
    assert "no chosen run logged it" in page.words("charts")
    assert "demo0001, demo0004" in page.words("provenance")


def test_refusals_and_messages(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "r.html"
    code, _, err = make_report(capsys, "--db", str(demo), "cfg.lr<<1", "-o", str(output))
    assert code == 2 and "bad expression" in err
    code, _, err = make_report(capsys, "--db", str(demo), "--runs", "nope", "-o", str(output))
    assert code == 2 and "no run with id 'nope'" in err
    code, _, err = make_report(capsys, "--db", str(demo), "--runs", "demo", "-o", str(output))
    assert code == 2 and "ambiguous" in err
    code, _, err = make_report(capsys, "--db", str(demo), "name=nothing", "-o", str(output))
    assert code == 1 and "no runs matched" in err and "no report written" in err
    code, _, err = make_report(capsys, "--db", str(demo), "--project", "other", "-o", str(output))
    assert code == 1 and "no runs matched" in err
    code, _, err = make_report(capsys, "--db", str(tmp_path / "missing.db"), "-o", str(output))
    assert code == 1 and "no database at" in err and "missing.db" in err
    empty = tmp_path / "empty.db"
    open_store(empty, write=True).close()
    code, _, err = make_report(capsys, "--db", str(empty), "-o", str(output))
    assert code == 1 and "no runs" in err
    code, _, err = make_report(capsys, "--db", str(demo), "-o", str(tmp_path / "no" / "r.html"))
    assert code == 1 and "cannot write" in err
    assert not output.exists()


def test_overwrites_atomically(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "report.html"
    output.write_text("old")
    os.chmod(output, 0o600)
    code, out, _ = make_report(capsys, "--db", str(demo), "--runs", "demo0002", "-o", str(output))
    assert code == 0 and "MB" in out
    assert output.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temp file left


def test_command_line_process(demo: Path, tmp_path: Path) -> None:
    """The installed command, as a user runs it (databases before the command work too)."""
    output = tmp_path / "cli.html"
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", str(demo), "report", "status=finished", "-o", str(output)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and output.stat().st_size > 10_000


# --- large histories: 10 runs x 100,000 points ---------------------------------------------

POINTS = 100_000
SPIKE_STEP, SPIKE = 54_321, 1.0e4
DIP_STEP, DIP = 77_777, -50.0


def _write_long_runs(path: Path, runs: int, points: int) -> list[str]:
    store = open_store(path, write=True)
    target = parse_target(path)
    ids = []
    try:
        for index in range(runs):
            run_id = f"long{index:02d}"
            created = 1_700_000_000.0 + index * 10
            version = store.begin()
            store.insert_run(
                {
                    "id": run_id, "project": "long", "name": f"run {index}", "created_at": created,
                    "host": "h", "pid": 4_194_000, "pid_start": None, "tags": "[]",
                    "config": dumps({"lr": 10.0 ** -(index % 4 + 2), "seed": index}),
                    "summary": "{}",
                },
                version,
            )  # fmt: skip
            store.commit()
            handle = RunHandle(run_id, target, created, {}, {})
            records: list[Any] = []
            for step in range(points):
                loss = 2.0 * math.exp(-step / 30_000) + 0.05 * math.sin(step * (index + 1) / 97)
                if index == 0 and step == SPIKE_STEP:
                    loss = SPIKE
                if index == 0 and step == DIP_STEP:
                    loss = DIP
                records.append((handle, step, created + step * 0.01, {"train/loss": loss}))
            records.append(("finish", handle, ("finished", 0, None)))
            write_batch(store, records, now=created + points * 0.01)
            ids.append(run_id)
    finally:
        store.close()
    return ids


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.db"
    _write_long_runs(path, 10, POINTS)
    return path


def test_downsampling_keeps_the_spike_and_the_dip(long_db: Path) -> None:
    store = open_store(long_db)
    try:
        run = next(r for r in store.read_runs() if r.id == "long00")
        series = read_downsampled(store, run, "train/loss", 400)
    finally:
        store.close()
    assert series is not None and series.count == POINTS and len(series.buckets) <= 400
    assert max(b.max for b in series.buckets if b.max is not None) == SPIKE
    assert min(b.min for b in series.buckets if b.min is not None) == DIP
    chart = line_chart("train/loss", [("long00", "#000", series)])
    (line,) = chart.lines
    ys = [float(p.split(",")[1]) for band in line.bands for p in band.split()]
    plot = chart.bottom - chart.top
    assert min(ys) <= TOP + 0.05 * plot  # the spike reaches the top of the plot
    assert max(ys) >= chart.bottom - 0.05 * plot  # and the dip its bottom
    assert not chart.log  # a negative dip: linear


def test_size_of_ten_runs_of_100k_points(long_db: Path, tmp_path: Path) -> None:
    output = tmp_path / "long.html"
    assert main(["report", "--db", str(long_db), "-o", str(output)]) == 0
    size = output.stat().st_size
    print(f"10 runs x {POINTS:,} points: {size / 1e6:.2f} MB")
    assert size < 1_500_000  # measured ~0.3 MB; the bound leaves room for the page to grow
    page = Page(output.read_text("utf-8"))
    assert len(page.find("path", "charts")) == 10


def test_postgresql(pg_url: str, tmp_path: Path) -> None:
    for index in range(2):
        run = tracker.init(
            project="pg",
            name=f"pg-{index}",
            db=pg_url,
            config={"lr": 0.1 * (index + 1)},
            quiet=True,
        )
        for step in range(50):
            run.log({"train/loss": 1.0 / (step + 1 + index), "train/grad_norm": 0.5}, step=step)
        run.finish()
    output = tmp_path / "pg.html"
    assert main(["report", "--db", pg_url, "-o", str(output)]) == 0
    page = Page(output.read_text("utf-8"))
    assert len([tr for tr in page.find("tr", "runs") if "data-run" in tr]) == 2
    assert len(page.find("path", "charts")) == 4
    assert "lr" in page.words("config")
    shown = page.words("provenance")
    assert "postgresql://" in shown
    password = parse_target(pg_url).url or ""
    if ":" in password.split("//", 1)[1].split("@", 1)[0]:
        assert password.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1] not in shown


# --- charts from any numbers ------------------------------------------------------------------

_values = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e6, 1e6)


@settings(max_examples=300, deadline=None)
@example([(-1.7e308, 1.7e308, 0.0, 0), (1.0, 1.7e308, 5.0, 1)])
@example([(1e-300, 1e300, 1.0, 0)])
@given(st.lists(st.tuples(_values, _values, _values, st.integers(0, 3)), min_size=0, max_size=40))
def test_any_buckets_give_a_finite_chart(rows: list[tuple[float, float, float, int]]) -> None:
    buckets = tuple(
        Bucket(i * 10, i * 10 + 9, min(lo, hi), max(lo, hi), 0.0, 1.0, 10, bad, mean)
        for i, (lo, hi, mean, bad) in enumerate(rows)
    )
    chart = line_chart("k", [("r", "#000", Series("r", "k", 10 * len(rows), buckets))])
    numbers = [tick.pos for tick in (*chart.x_ticks, *chart.y_ticks)]
    for line in chart.lines:
        for text in (line.d.replace("M", " "), *line.bands):
            numbers += [float(v) for pair in text.split() for v in pair.split(",")]
        numbers += [x for stretch in line.nonfinite for x in stretch]
    assert all(math.isfinite(v) and -1 <= v <= chart.width + 1 for v in numbers)
    assert [t.pos for t in chart.x_ticks] == sorted(t.pos for t in chart.x_ticks)


@given(st.floats(-1e300, 1e300), st.floats(1e-300, 1e300))
def test_ticks_stay_inside_the_range(low: float, width: float) -> None:
    high = low + width
    if not math.isfinite(high) or high <= low:
        return
    ticks = linear_ticks(low, high, 5)
    assert len(ticks) <= 50 and ticks == sorted(ticks)
    assert all(low - width * 1e-6 <= t <= high + width * 1e-6 for t in ticks)


def test_runs_with_a_step_metric_are_plotted_against_it(tmp_path: Path) -> None:
    """A nanoGPT-like run defines ``iter`` as every metric's step metric: its lines run
    against ``iter`` (0..4,975), as in the TUI, not against the logged call count (0..199)."""
    from tui.demo_db import build_resumed_database

    db = tmp_path / "nano.db"
    build_resumed_database(db)
    output = tmp_path / "nano.html"
    assert main(["report", "--db", str(db), "-o", str(output)]) == 0
    page = Page(output.read_text("utf-8"))
    assert [f["data-metric"] for f in page.find("figure", "charts")] == ["train/loss", "val/loss"]
    words = page.words("charts")
    assert "iter" in words and "4k" in words


def test_a_run_that_logged_nothing(tmp_path: Path) -> None:
    """Every section is still there, each saying it has nothing, and the file is valid."""
    db = tmp_path / "bare.db"
    tracker.init(project="bare", name="only-config", config={"lr": 0.1}, db=db, quiet=True).finish()
    output = tmp_path / "bare.html"
    assert main(["report", "--db", str(db), "-o", str(output)]) == 0
    page = Page(output.read_text("utf-8"))
    for section in ("charts", "hardware", "media"):
        assert page.find("p", section, **{"class": "none"}), section
    assert not page.find("figure", "charts") and not page.find("section", id="health")
    assert "lr" in page.words("config") and "only-config" in page.words("runs")
