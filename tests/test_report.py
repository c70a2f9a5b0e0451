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

# One xdist worker runs this module (--dist loadgroup): the demo database, its report and ten runs
# of 100k points: built once.
pytestmark = pytest.mark.xdist_group("report-data")

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
    assert len([p for p in page.find("path", "charts") if p.get("class") == "line"]) == 10


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


# Findings of an outside tester (outsider 17): each test fails on the report before its fix.


def test_a_one_step_spike_is_a_solid_stroke_to_its_value(long_db: Path) -> None:
    store = open_store(long_db)
    try:
        run = next(r for r in store.read_runs() if r.id == "long00")
        series = read_downsampled(store, run, "train/loss", 400)
    finally:
        store.close()
    assert series is not None
    chart = line_chart("train/loss", [("long00", "#000", series)])
    (line,) = chart.lines
    band_top = min(float(p.split(",")[1]) for band in line.bands for p in band.split())
    strokes = [s.split() for s in line.spikes.split("M") if s]
    assert 1 <= len(strokes) <= 4  # the spike and the dip; the noise around 2.0 draws none
    tips = [float(stroke[1].split(",")[1]) for stroke in strokes]
    assert min(tips) == pytest.approx(band_top, abs=0.2)  # it reaches the spike's y
    assert min(tips) <= TOP + 0.05 * (chart.bottom - chart.top)  # the top of the plot


def test_runs_on_different_x_axes_share_step_and_the_chart_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "x.db"
    run = tracker.init(project="x", name="long", db=database, system_metrics=False, quiet=True)
    for step in range(0, 20_000, 10):
        run.log({"train/loss": 1.0 + step / 1e5}, step=step)
    run.finish()
    run = tracker.init(project="x", name="epochs", db=database, system_metrics=False, quiet=True)
    run.define_metric("epoch")
    run.define_metric("train/loss", step_metric="epoch")
    for step in range(1000):
        run.log({"train/loss": 2.0 - step / 1000, "epoch": step / 100}, step=step)
    run.finish()
    output = tmp_path / "x.html"
    assert make_report(capsys, "--db", str(database), "-o", str(output))[0] == 0
    text = output.read_text("utf-8")
    page = Page(text)
    lines = [p for p in page.find("path", "charts") if p.get("class") == "line"]
    assert len(lines) == 2
    for line in lines:  # neither run is squeezed to one x
        xs = {round(float(p.lstrip("M").split(",")[0])) for p in line["d"].split()}
        assert max(xs) - min(xs) > 20, line["data-run"]
    assert "x: step for all runs" in page.words("charts")
    assert "epochs’s own x-axis is epoch" in page.words("charts")
    # alone, the epoch run keeps its own axis and no note
    runs = [r for r in filter_runs(open_store(database).read_runs(), "") if r.name == "epochs"]
    assert (
        make_report(capsys, "--db", str(database), "--runs", runs[0].id, "-o", str(output))[0] == 0
    )
    assert "x: step for all runs" not in output.read_text("utf-8")


def test_metrics_takes_patterns_as_export_does(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "m.html"
    code, _, err = make_report(capsys, "--db", str(demo), "--metrics", "train/*", "-o", str(output))
    assert code == 0, err
    charted = [f["data-metric"] for f in Page(output.read_text("utf-8")).find("figure", "charts")]
    assert "train/loss" in charted and "train/*" not in charted
    assert all(key.startswith("train/") for key in charted) and len(charted) >= 2
    code, _, err = make_report(capsys, "--db", str(demo), "--metrics", "nope/*", "-o", str(output))
    assert code == 2 and "'nope/*' matches no metric" in err


def test_config_numbers_are_short_everywhere_with_the_whole_value_in_a_tooltip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "n.db"
    for lr in (1.2063128815182889e-05, 0.0006303066853843521, 5e-4):
        run = tracker.init(
            project="n", config={"lr": lr}, db=database, system_metrics=False, quiet=True
        )
        run.log({"train/loss": 1.0})
        run.finish()
    output = tmp_path / "n.html"
    assert make_report(capsys, "--db", str(database), "-o", str(output))[0] == 0
    page = Page(output.read_text("utf-8"))
    texts = page.words("runs") + page.words("config")
    assert "1.2063128815182889e-05" not in texts and "0.0006303066853843521" not in texts
    assert texts.count("1.206e-05") >= 2 and texts.count("6.303e-04") >= 2
    assert "5e-04" in texts and "5.000e-04" not in texts
    titles = {c.get("title") for c in page.find("td", "runs") + page.find("td", "config")}
    assert {"1.2063128815182889e-05", "0.0006303066853843521"} <= titles


def test_many_runs_have_their_config_as_rows_that_never_wrap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "many.db"
    for index in range(12):
        run = tracker.init(
            project="many", name=f"live-running-{index}", db=database,
            config={"lr": 1e-5 * (index + 1), "seed": index, "opt": "adam"},
            system_metrics=False, quiet=True,
        )  # fmt: skip
        run.log({"train/loss": 1.0})
        run.finish()
    output = tmp_path / "many.html"
    assert make_report(capsys, "--db", str(database), "-o", str(output))[0] == 0
    text = output.read_text("utf-8")
    page = Page(text)
    table = page.find("table", "config")[0]
    assert "transposed" in table["class"]
    assert len(page.find("tr", "config")) == 2 * (12 + 1)  # differing and all: a row per run
    css = (Path(__file__).parent.parent / "tui/report/templates/report.css").read_text()
    assert ".config-table th, .config-table td { white-space: nowrap;" in css
    assert "overflow-wrap: anywhere; }" not in css.split("th, td {", 1)[1].split("\n", 1)[0]
    assert ".health-table td:nth-child(-n+3)" in css  # the level and kind never break


def test_best_values_only_for_metrics_with_a_better_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.report.view import best_columns

    database = tmp_path / "best.db"
    for index, diverges in enumerate((False, True)):
        run = tracker.init(
            project="b", name=f"r{index}", db=database, system_metrics=False, quiet=True
        )
        for step in range(10):
            loss = 1.0 - step / 20 - index * 0.4
            if diverges and step == 9:
                loss = math.nan
            run.log(
                {"train/loss": loss, "train/lr": 0.1 * (index + 1), "train/grad_norm": 1.0 + index},
                step=step,
            )
        run.finish()
    store = open_store(database)
    try:
        runs = sorted(store.read_runs(), key=lambda r: r.name)
        from tui.report.gather import gather
        from tui.report.model import Provenance

        report = gather(store, runs, ["train/loss"], Provenance(0.0, "", "", "", (), ()), "t")
    finally:
        store.close()
    columns = {c.key: c for c in best_columns(report)}
    assert columns["train/lr"].mode == "last" and columns["train/lr"].winners == ()
    assert columns["train/grad_norm"].mode == "last" and columns["train/grad_norm"].winners == ()
    ranked = columns["train/loss"]
    assert ranked.mode == "min" and ranked.winners == (0,)  # r1 went lower, then to NaN: not ranked
    assert ranked.titles[1] == "not ranked: it diverged (train/loss ended NaN or inf)"


def test_media_keys_are_chosen_by_use_and_the_left_out_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    database = tmp_path / "media.db"
    run = tracker.init(project="m", name="media", db=database, system_metrics=False, quiet=True)
    run.log(
        {
            "noise": tracker.Image(
                np.random.default_rng(0).integers(0, 255, (1400, 1400, 3), np.uint8)
            )
        }
    )
    run.log({"bigtable": tracker.Table(columns=["a"], data=[[i] for i in range(100)])})
    run.log({"hist": tracker.Histogram([1.0, 2.0, 2.5])})
    table = tracker.Table(columns=["x", "y"], data=[[i, i * i] for i in range(5)])
    run.log({"plot": tracker.plot.line(table, "x", "y", title="sq")})
    for index in range(12):
        run.log({f"img/{index}": tracker.Image(np.full((8, 8, 3), index * 8, np.uint8))})
    run.finish()
    output = tmp_path / "media.html"
    code, _, err = make_report(capsys, "--db", str(database), "-o", str(output))
    assert code == 0, err
    page = Page(output.read_text("utf-8"))
    shown = [f["data-key"] for f in page.find("figure", "media")]
    assert len(shown) == 8
    # one of each kind (the newest image among them), the first-logged big image (downscaled,
    # not dropped), then the newest of the rest
    assert {"noise", "bigtable", "hist", "plot", "img/11"} <= set(shown)
    assert "img/0" not in shown
    (noise,) = [i for i in page.find("img", "media") if i.get("alt") == "noise"]
    assert int(noise["width"]) <= 1024
    footer = page.words("provenance")
    assert "left out: img/0, img/1, img/2, img/3, img/4" in footer
    assert "the first 8" not in footer and "left out" in err


def test_many_runs_get_a_compact_legend_sortable_capped_tables_and_hover_data(
    tmp_path: Path,
) -> None:
    database = tmp_path / "many.db"
    for index in range(30):
        run = tracker.init(
            project="m", name=f"m{index:02d}", db=database, config={"lr": 1e-4 * (index + 1)},
            system_metrics=False, quiet=True,
        )  # fmt: skip
        for step in range(3):
            run.log({"train/loss": 1.0 / (index + step + 1)}, step=step)
        run.summary["score"] = float(index)
        run.finish()
    output = tmp_path / "many.html"
    assert main(["report", "--db", str(database), "-o", str(output)]) == 0
    text = output.read_text("utf-8")
    page = Page(text)
    legend = [p for p in page.find("p", "charts") if "legend" in p.get("class", "")]
    assert len(legend) == 1 and "compact" in legend[0]["class"]
    assert "30 runs: hover a line for its name" in page.words("charts")
    assert len([s for s in page.find("span", "charts") if s.get("class") == "run"]) == 30
    tables = [t for t in page.find("table") if "sortable" in t.get("class", "")]
    ids = [t.get("id", "") for t in tables]
    assert {"runs-table", "best-table", "summary-table"} <= set(ids)
    config = [t for t in tables if "config-table" in t.get("class", "")]
    assert config, "the config of many runs is a sortable table of a row per run"
    assert len(page.find("th", "config", data_key="lr")) >= 1
    assert [c for c in page.find("div") if c.get("class") == "scroll tall"]
    data = json.loads(_json_block(text))
    (chart,) = data["charts"]
    assert chart["key"] == "train/loss" and len(chart["lines"]) == 30
    assert chart["xs"] == [[0, 1, 2]]  # one x list shared by the 30 runs logged at one step
    assert all(line["xi"] == 0 and len(line["y"]) == 3 for line in chart["lines"])
