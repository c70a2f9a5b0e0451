"""Hostile text from the database is inert in the report: ``<script>``, attribute breakouts,
``</script>``, template syntax, escape sequences, NUL, bidi overrides and huge unicode names in
a run's name, project, tags, host, config keys and values, summary, a metric key, a table's
columns and cells, media captions, confusion labels, health events and alerts. The page is
parsed with ``html.parser``: the only scripts are ours and no attribute is an event handler.

Also the edge cases of what the report computes: histograms of unequal bins (drawn as
densities), ties in best values (every tied run starred), the default charts' name variants,
and the media budget (``--max-media-mb``, ``--no-media``)."""

from __future__ import annotations

import json
import re
import zlib
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracker
from tracker.batch import RunHandle, write_batch
from tracker.db import open_store, parse_target
from tracker.jsonable import dumps, to_json_safe
from tracker.sanitize import safe_text
from tui.cli import main
from tui.report.masking import mask_secrets
from tui.report.render import environment, script_json

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(2)</script>",
    "{{ 7*7 }}{% raw %}",
    "\x1b]0;HACKED\x07\x1b[2J",
    "nul\x00byte",
    "\u202egnp.exe",
    "' onmouseover='alert(3)",
    "<!-- <svg onload=alert(4)>",
    "javascript:alert(5)",
)
HUGE = "𝕳𝖆𝖈𝖐" * 1500 + "🙂" * 500 + "漢字" * 500
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
OUR_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "nav",
    "a", "span", "main", "section", "div", "table", "thead", "tbody", "tr", "th", "td", "code",
    "figure", "figcaption", "svg", "g", "line", "text", "polygon", "path", "rect", "details",
    "summary", "article", "dl", "dt", "dd", "img", "strong", "br", "footer", "ul", "li",
    "script", "wbr",
}  # fmt: skip


def broken_media(run_id: str) -> list[tuple[str, str, int, float, str, str, bytes]]:
    """Media rows no tracktui writes: garbage after a PNG signature, a PNG whose header claims
    100,000 x 100,000 pixels, a table that is no table, an unknown kind."""
    header = (10**5).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    chunk = b"IHDR" + header
    huge_png = b"\x89PNG\r\n\x1a\n" + len(header).to_bytes(4, "big") + chunk
    huge_png += zlib.crc32(chunk).to_bytes(4, "big") + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    t = 1_700_000_005.0
    return [
        (run_id, "broken/png", 5, t, "image", "{}", b"\x89PNG\r\n\x1a\ngarbage"),
        (run_id, "broken/huge", 5, t, "image", '{"caption": 7}', huge_png),
        (run_id, "broken/table", 5, t, "table", "not json", b'{"columns": 1}'),
        (run_id, "broken/kind", 5, t, "<script>", "[]", b"<script>alert(6)</script>"),
    ]


def hostile(index: int) -> str:
    return HOSTILE[index % len(HOSTILE)]


class Parsed(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        else:
            self.text.append(data)


def write_hostile_database(path: Path) -> list[str]:
    """Runs whose every stored text is hostile, written as a foreign program could (through
    the store, so nothing is cleaned on the way in)."""
    store = open_store(path, write=True)
    target = parse_target(path)
    ids = []
    try:
        for index in range(3):
            run_id = f"evil{index}"
            name = HUGE if index == 2 else f"{hostile(index)} run {index}"
            config = {
                hostile(index + 1): hostile(index + 2),
                "nested": {hostile(index + 3): [hostile(index + 4), 1.5]},
                "lr": 10.0 ** -(index + 2),
                "same": "x",
            }
            version = store.begin()
            store.insert_run(
                {
                    "id": run_id, "project": hostile(index + 5), "name": name,
                    "created_at": 1_700_000_000.0 + index, "host": hostile(index + 6),
                    "pid": 4_194_000, "pid_start": None,
                    "tags": dumps([hostile(index + 7), "ok"]), "config": dumps(config),
                    "summary": "{}",
                },
                version,
            )  # fmt: skip
            store.commit()
            handle = RunHandle(run_id, target, 1_700_000_000.0 + index, config, {})
            records: list[object] = []
            for step in range(30):
                values = {"train/loss": 1.0 / (step + 1), f"{hostile(index + 8)}/loss": float(step)}
                if step == 20:
                    values["train/loss"] = float("nan")
                records.append((handle, step, 1_700_000_000.0 + step, values))
            media = {
                "samples": tracker.Image(
                    np.zeros((8, 8, 3), dtype=np.uint8), caption=hostile(index + 9)
                ),
                "table": tracker.Table(
                    columns=[hostile(index), "b"], rows=[[hostile(index + 1), hostile(index + 2)]]
                ),
                "confusion": tracker.ConfusionMatrix(
                    [0, 1, 1], [0, 1, 0], labels=[hostile(index + 3), hostile(index + 4)]
                ),
                "hist": tracker.Histogram(np.arange(100.0)),
            }
            records.append(("media", handle, (29, 1_700_000_029.0, media)))
            detail = {"detector": hostile(index + 5), "text": hostile(index + 6)}
            records.append(
                (
                    "event",
                    handle,
                    (
                        1_700_000_010.0,
                        10,
                        "health",
                        "train/loss",
                        "WARN",
                        hostile(index + 7),
                        detail,
                    ),
                )
            )
            records.append(
                (
                    "event",
                    handle,
                    (
                        1_700_000_011.0,
                        11,
                        "alert",
                        None,
                        "ERROR",
                        hostile(index + 8),
                        {"text": hostile(index + 9)},
                    ),
                )
            )
            handle.summary[hostile(index + 3)] = hostile(index + 4)
            records.append(("json", handle, "summary"))
            write_batch(store, records, now=1_700_000_030.0)  # type: ignore[arg-type]
            version = store.begin()
            store.insert_media(broken_media(run_id))  # what a damaged or foreign file holds
            store.commit()
            ids.append(run_id)
    finally:
        store.close()
    return ids


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Parsed]:
    folder = tmp_path_factory.mktemp("hostile")
    write_hostile_database(folder / "evil.db")
    output = folder / "evil.html"
    title = "<script>alert('title')</script>"
    assert (
        main(["report", "--db", str(folder / "evil.db"), "--title", title, "-o", str(output)]) == 0
    )
    text = output.read_text("utf-8")
    return text, Parsed(text)


def test_only_our_scripts_and_no_handlers(page: tuple[str, Parsed]) -> None:
    text, parsed = page
    assert [attrs for attrs, _ in parsed.scripts] == [
        {"type": "application/json", "id": "report-data"},
        {},
    ]
    ours = resources.files("tui.report").joinpath("templates", "report.js").read_text("utf-8")
    assert parsed.scripts[1][1] == ours
    for tag, attrs in parsed.tags:
        assert tag in OUR_TAGS, tag
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), (tag, name)
            if name in ("src", "href"):
                assert (value or "").startswith(("data:image/", "#")), (tag, value)
    assert "<script>alert" not in text and "<img src=x" not in text


def test_hostile_text_is_shown_as_text(page: tuple[str, Parsed]) -> None:
    text, parsed = page
    words = "".join(parsed.text)
    for needle in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}{% raw %}",
                   "\\x1b]0;HACKED\\x07", "nul\\x00byte", "\\u202egnp.exe", "<script>alert('title')</script>"):  # fmt: skip
        assert needle in words, needle
    assert HUGE[:79] + "…" in words  # shown cut, whole in the title beside it
    assert any(attrs.get("title") == HUGE for tag, attrs in parsed.tags if tag == "span")
    assert not CONTROL.search(text)  # no raw control, NUL or bidi character anywhere
    for section in ("charts", "config", "summary", "media", "health", "hardware"):
        assert f'<section id="{section}">' in text
    # damaged media say why they cannot be shown, and the rest of the page is there
    assert words.count("Cannot be shown") == 3 * 4
    assert "100,000x100,000 pixels" in words and "lacks columns or rows" in words


def test_json_block_is_inert_and_round_trips(page: tuple[str, Parsed]) -> None:
    _, parsed = page
    block = parsed.scripts[0][1]
    assert not set(block) & set("<>&")
    data = json.loads(block)
    names = [run["name"] for run in data["runs"]]
    assert f"{HOSTILE[1]} run 1" in names and HUGE in names


def test_a_real_run_with_hostile_text(tmp_path: Path) -> None:
    """The same through tracker.init/log/alert, as a script writes it."""
    db = tmp_path / "real.db"
    run = tracker.init(
        project="p",
        name=HOSTILE[0],
        config={HOSTILE[1]: HOSTILE[2]},
        tags=[HOSTILE[3]],
        db=db,
        quiet=True,
    )
    run.log({"train/loss": 1.0, "table": tracker.Table(columns=["c"], rows=[[HOSTILE[2]]])}, step=1)
    run.alert(title=HOSTILE[1], text=HOSTILE[0], level="WARN")
    run.summary["s"] = HOSTILE[6]
    run.finish()
    output = tmp_path / "real.html"
    assert main(["report", "--db", str(db), "-o", str(output)]) == 0
    parsed = Parsed(output.read_text("utf-8"))
    assert len(parsed.scripts) == 2
    assert not any(n.lower().startswith("on") for _, attrs in parsed.tags for n in attrs)
    assert HOSTILE[0] in "".join(parsed.text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_lands_as_text(value: str) -> None:
    rendered = environment().from_string('<p title="{{ v }}">{{ v }}</p>').render(v=value)
    parsed = Parsed(rendered)
    assert [tag for tag, _ in parsed.tags] == ["p"]
    shown = safe_text(value, single_line=False)
    assert parsed.tags[0][1] == {"title": shown}
    assert "".join(parsed.text) == shown


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers(-(2**53), 2**53) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_script_json_never_ends_its_block(value: object) -> None:
    text = script_json(value)
    assert not set(text) & set("<>&") and text.isascii()
    # the same value, but for credentials masked ("0:0@0" reads as user:password@host)
    plain = json.dumps(to_json_safe(value), ensure_ascii=True, allow_nan=False)
    assert json.loads(text) == json.loads(mask_secrets(plain))


SECRETS = ("s3cretpw", "hunter2", "tok3n", "pgpass9")


def test_no_password_from_the_database_reaches_the_file(tmp_path: Path) -> None:
    """A config that stores ``--db postgresql://user:pw@...`` (the example scripts save their
    whole argparse namespace), conninfo's ``password=``, a URL inside longer text and
    ``user:pw@host`` alone: masked in the config, runs table, summary, tags, name, health
    text, media caption and the JSON block, as the footer masks the database's URL."""
    database = tmp_path / "runs.db"
    url = "postgresql://tracktui:s3cretpw@127.0.0.1:46617/tracktui"
    for index in range(2):
        run = tracker.init(
            project="leak",
            name=f"run {index} via mysql://root:tok3n@db/x",
            db=database,
            config={
                "db": url,
                "conninfo": "host=db.internal password=hunter2 dbname=t",
                "lr": 0.1 * (index + 1),
                "host": f"tracktui:pgpass9@10.0.0.{index}",
            },
            tags=[f"from {url}"],
            system_metrics=False,
            quiet=True,
        )
        for step in range(5):
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
        run.log({"pic": tracker.Image(np.zeros((4, 4, 3), np.uint8), caption=f"see {url}")})
        run.alert(f"copied {url}", text="password=hunter2")
        run.summary["where"] = f"logged into {url}, fine"
        run.finish()
    output = tmp_path / "r.html"
    assert main(["report", "--db", str(database), "-o", str(output)]) == 0
    text = output.read_text("utf-8")
    for secret in SECRETS:
        assert secret not in text, secret
    assert "postgresql://tracktui:***@127.0.0.1:46617/tracktui" in text  # still readable
    assert "password=***" in text and "tracktui:***@10.0.0.1" in text


def _heights(bars: object) -> list[tuple[float, float, float, float]]:
    return list(bars.rects)  # type: ignore[attr-defined]


def test_uneven_histogram_bins_are_drawn_as_densities_at_their_true_extents() -> None:
    from tracker.media.decoded import HistogramData
    from tui.report.charts import histogram_bars

    bars = histogram_bars(HistogramData([10.0] * 5, [0.0, 1.0, 2.0, 3.0, 4.0, 100.0]))
    assert bars.density
    rects = _heights(bars)
    tall = [h for *_, h in rects[:4]]
    assert max(tall) - min(tall) < 0.05 and tall[0] > 100  # the four narrow bins: the peak
    assert rects[4][3] == pytest.approx(tall[0] / 96, abs=0.02)  # 96x wider: 96x lower
    assert rects[4][0] == pytest.approx(4 / 100 * bars.width, abs=0.01)  # at x=4..100
    assert rects[4][2] == pytest.approx(96 / 100 * bars.width, abs=0.01)
    even = histogram_bars(HistogramData([1.0, 4.0, 2.0], [0.0, 1.0, 2.0, 3.0]))
    assert not even.density and even.peak == "4"  # equal bins keep their counts
    assert [h for *_, h in _heights(even)] == pytest.approx([118 / 4, 118.0, 59.0], abs=0.01)


def test_a_tensorboard_like_histogram_of_a_gaussian_is_one_bell() -> None:
    from tracker.media.decoded import HistogramData
    from tui.report.charts import histogram_bars

    # TensorBoard's default buckets: 1e-12 * 1.1**k either side of 0, narrow near 0.
    positive = [1e-12 * 1.1**k for k in range(300) if 1e-12 * 1.1**k < 1e20]
    edges = sorted({-e for e in positive} | {0.0} | set(positive))
    edges = [e for e in edges if -5 <= e <= 5]
    values = np.random.default_rng(0).standard_normal(20_000)
    counts, _ = np.histogram(values, bins=edges)
    bars = histogram_bars(HistogramData([float(c) for c in counts], edges))
    assert bars.density and sum(count for count, *_ in bars.bins) == counts.sum()
    assert len(bars.bins) < len(edges) - 1  # the slivers near 0 joined
    tallest = max(count / (right - left) for count, left, right in bars.bins)
    for (*_, h), (count, left, right) in zip(bars.rects, bars.bins, strict=True):
        assert (
            right - left >= (edges[-1] - edges[0]) / 128 * 0.99
        )  # no bar narrower than a 128th of the range
        assert h == pytest.approx(count / (right - left) / tallest * 118, abs=0.02)
    # the bell's top is at 0, not a hole: the tallest bar among the visible ones is central
    visible = [(x + w / 2, h) for x, _, w, h in bars.rects if w >= 1.0]
    peak_x = max(visible, key=lambda pair: pair[1])[0]
    assert abs(peak_x - bars.width / 2) < bars.width * 0.08


def test_a_logged_uneven_histogram_says_density_on_its_axis(tmp_path: Path) -> None:
    database = tmp_path / "hist.db"
    run = tracker.init(project="h", name="h", db=database, system_metrics=False, quiet=True)
    run.log({"w": tracker.Histogram(counts=[10] * 5, edges=[0, 1, 2, 3, 4, 100])}, step=1)
    run.log({"even": tracker.Histogram(counts=[1, 4, 2], edges=[0, 1, 2, 3])}, step=1)
    run.finish()
    output = tmp_path / "hist.html"
    assert main(["report", "--db", str(database), "-o", str(output)]) == 0
    text = output.read_text("utf-8")
    assert text.count('data-y="density"') == 1 and text.count('data-y="count"') == 1
    assert "density (count per unit), peak" in text and "count, peak 4" in text


def _runs_reaching(tmp_path: Path, losses: dict[str, float]) -> Path:
    database = tmp_path / "ties.db"
    for name, loss in losses.items():
        run = tracker.init(project="t", name=name, db=database, system_metrics=False, quiet=True)
        for step in range(3):
            run.log({"train/acc": 0.5 + step / 4, "train/loss": loss * (3 - step)}, step=step)
        run.finish()
    return database


def test_tied_best_values_star_every_tied_run(tmp_path: Path) -> None:
    from tracker.filters import filter_runs
    from tui.report.view import best_columns

    database = _runs_reaching(tmp_path, {"worst": 0.5, "best": 1e-4, "mid": 1e-3})
    output = tmp_path / "ties.html"
    assert main(["report", "--db", str(database), "-o", str(output)]) == 0
    text = output.read_text("utf-8")
    best = text.split('id="best-table"', 1)[1].split("</table>", 1)[0]
    assert best.count("★") == 3 + 1  # three tied on train/acc, one best train/loss
    assert best.count('<span class="tie">tie: 3 runs</span>') == 3
    from tui.report.gather import gather
    from tui.report.model import Provenance

    store = open_store(parse_target(str(database)))
    try:
        runs = filter_runs(store.read_runs(), "")
        report = gather(store, runs, ["train/loss"], Provenance(0.0, "", "", "", (), ()), "t")
    finally:
        store.close()
    columns = {c.key: c for c in best_columns(report)}
    assert columns["train/acc"].winners == (0, 1, 2)
    names = [run.name for run in runs]
    assert [names[i] for i in columns["train/loss"].winners] == ["best"]


@pytest.mark.parametrize(
    ("keys", "charted"),
    [
        (["loss", "val_loss", "gradient_norm"], ["loss", "val_loss", "gradient_norm"]),
        (["train_loss", "eval_loss", "grad-norm"], ["train_loss", "eval_loss", "grad-norm"]),
        (["train/loss", "test/loss", "gradnorm"], ["train/loss", "test/loss", "gradnorm"]),
        (["train/loss", "validation/loss", "train/gradient_norm", "train/acc"],
         ["train/loss", "validation/loss", "train/gradient_norm"]),
        (["epoch/loss", "epoch/val_loss", "grad_norm"], ["epoch/loss", "epoch/val_loss", "grad_norm"]),
    ],
)  # fmt: skip
def test_default_charts_know_the_usual_spellings(
    tmp_path: Path, keys: list[str], charted: list[str]
) -> None:
    from tui.report.gather import default_metrics

    database = tmp_path / "names.db"
    run = tracker.init(project="n", name="n", db=database, system_metrics=False, quiet=True)
    for step in range(3):
        run.log({key: 1.0 / (step + 1) for key in keys}, step=step)
    run.finish()
    store = open_store(parse_target(str(database)))
    try:
        runs = store.read_runs()
    finally:
        store.close()
    assert default_metrics(runs) == charted


def _photo_runs(tmp_path: Path, runs: int, side: int) -> Path:
    from PIL import Image

    database = tmp_path / "img.db"
    rng = np.random.default_rng(1)
    for index in range(runs):
        run = tracker.init(
            project="i", name=f"r{index}", db=database, system_metrics=False, quiet=True
        )
        for step in (1, 2):
            noise = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
            run.log({f"photo/{step}": tracker.Image(Image.fromarray(noise))}, step=step * 10)
        flat = np.zeros((side, side, 3), dtype=np.uint8)
        flat[: side // 2] = (200, 40, 40)
        run.log({"mask": tracker.Image(Image.fromarray(flat))}, step=30)
        run.finish()
    return database


def test_media_fit_the_budget_newest_kept_and_the_rest_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = _photo_runs(tmp_path, runs=3, side=400)  # 6 photos of ~480 kB as PNG
    output = tmp_path / "img.html"
    assert main(["report", "--db", str(database), "-o", str(output), "--max-media-mb", "0.4"]) == 0
    out, err = capsys.readouterr()
    text = output.read_text("utf-8")
    images = re.findall(r'src="(data:image/(png|jpeg);base64,[^"]*)"', text)
    embedded = sum(len(src) for src, _ in images)
    assert embedded <= 400_000
    assert re.search(r"size: images 0\.[0-4]\d MB, the rest", out)
    assert "images left out for the 0.4 MB for media" in err and "images left out" in text
    assert "photo/1" in err  # the oldest are named
    figures = re.findall(
        r'data-key="([^"]+)">.*?(<img|left out: the report)', text.split('id="media"', 1)[1], re.S
    )
    kept = [key for key, what in figures if what == "<img"]
    assert kept.count("mask") == 3 and "photo/2" in kept  # the newest kept
    assert all(what != "<img" for key, what in figures if key == "photo/1")
    # the flat mask stays PNG; the photos that are kept were re-encoded as JPEG
    assert any(kind == "jpeg" for _, kind in images) and any(kind == "png" for _, kind in images)
    assert main(["report", "--db", str(database), "-o", str(output), "--no-media"]) == 0
    out, err = capsys.readouterr()
    text = output.read_text("utf-8")
    assert "<img" not in text and "media left out (--no-media)" in text
    assert "size: images 0.00 MB" in out
    with pytest.raises(SystemExit):
        main(["report", "--db", str(database), "-o", str(output), "--max-media-mb", "x"])
