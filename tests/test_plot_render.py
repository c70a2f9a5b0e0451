"""The metric plot's picture: round ticks on the rows that hold them, labels that read as
what they count, and a live tip that repaints only the rows it touches."""

from __future__ import annotations

import itertools
import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.models import Point
from tui.series import SeriesBuffer
from tui.view.chart import ChartLine, ChartSpec, draw_chart
from tui.view.ticks import nice_step, tick_labels, ticks
from tui.widgets.plot import PlotLine, PlotOptions, render_plot

BRAILLE = re.compile("[\u2801-\u28ff]")
finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


def _buffer(values: list[tuple[int, float]]) -> SeriesBuffer:
    buffer = SeriesBuffer()
    buffer.extend([Point(i + 1, step, value, float(i)) for i, (step, value) in enumerate(values)])
    return buffer


def _y_labels(rows: list[str]) -> dict[int, float]:
    """Row index -> the value of the y label drawn on it (``1.50┤``)."""
    out = {}
    for index, row in enumerate(rows):
        match = re.match(r"^\s*([-0-9.,e+kMGT]+)┤", row)
        if match:
            text = match.group(1).replace(",", "")
            scale = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}.get(text[-1], 1.0)
            out[index] = float(text.rstrip("kMGT")) * scale
    return out


@settings(max_examples=300, deadline=None)
@given(finite, finite, st.integers(1, 12), st.booleans())
def test_ticks_are_round_evenly_spaced_and_inside_the_range(
    a: float, b: float, count: int, integer: bool
) -> None:
    low, high = min(a, b), max(a, b)
    values = ticks(low, high, count, integer=integer)
    has_whole = math.floor(high) >= math.ceil(low)
    assert values or (integer and not has_whole), "every range gets at least one tick"
    slack = 1e-9 * (high - low) + 1e-12 * max(1.0, abs(low), abs(high))
    assert all(low - slack <= v <= high + slack for v in values)
    assert values == sorted(values)
    assert len(values) <= 2 * count + 2
    if integer:
        assert all(float(v).is_integer() for v in values)
    gaps = [y - x for x, y in itertools.pairwise(values)]
    if gaps:
        # equal up to float rounding at the values' magnitude (0.05 apart near -1e9)
        assert max(gaps) - min(gaps) <= 1e-6 * max(gaps) + 1e-14 * max(abs(low), abs(high))
    labels = tick_labels(values, integer=integer)
    assert len(labels) == len(values)
    if len(set(values)) == len(values) and high - low > 1e-6 * max(1.0, abs(high)):
        assert len(set(labels)) == len(labels), f"labels must tell ticks apart: {labels}"


def test_nice_steps_are_one_two_or_five_times_a_power_of_ten() -> None:
    for span in (0.003, 0.7, 1.63, 9.0, 761.0, 1e6, 3.3e9):
        step = nice_step(span, 4)
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0)


def test_integer_steps_are_labelled_as_whole_numbers() -> None:
    """Steps 2..166 were labelled ``2.0 … 166.2``: now round whole numbers."""
    image = render_plot(
        "loss",
        "",
        [PlotLine("a", "cyan", _buffer([(s, 1.0 / s) for s in range(2, 167)]))],
        PlotOptions(),
        80,
        14,
    )
    tick_row = image.plain.splitlines()[-2]
    labels = tick_row.split()
    assert labels and all(re.fullmatch(r"\d+", label) for label in labels), tick_row
    assert all(int(label) % 10 == 0 for label in labels)


def test_huge_steps_read_with_a_suffix_and_do_not_overlap() -> None:
    steps = [(1_000_000 + 997 * i, math.sin(i / 30)) for i in range(2_000)]
    image = render_plot("loss", "", [PlotLine("a", "cyan", _buffer(steps))], PlotOptions(), 60, 12)
    lines = image.plain.splitlines()
    tick_row = lines[-2]
    labels = tick_row.split()
    assert len(labels) >= 2 and all(label.endswith("M") for label in labels), tick_row
    assert all(len(line) <= 60 for line in lines)


@settings(max_examples=150, deadline=None)
@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-3, 1e6, allow_nan=False),
    st.floats(0, 1),
    st.integers(6, 30),
)
def test_a_point_sits_between_the_labels_around_its_row(
    low: float, span: float, where: float, height: int
) -> None:
    """The bug: a single point of 4.461 was drawn on the row labelled 5.20. Every y label
    is on the row holding its value, so the labels above a point are at least its value and
    the labels below at most."""
    high = low + span
    value = low + where * span
    spec = ChartSpec(
        title="t", lines=[ChartLine("cyan", [[(0.0, low)], [(50.0, high)], [(100.0, value)]])]
    )
    image = draw_chart(spec, 60, height)
    rows = image.plain.splitlines()
    labels = _y_labels(rows)
    assert len(labels) >= 2, rows
    dot_rows = [i for i, row in enumerate(rows) if BRAILLE.search(row[-3:-1] or "")]
    assert dot_rows, rows
    row = dot_rows[-1]
    tolerance = span * 0.51 / max(1, height - 5) + 1e-9 * max(1.0, abs(value))
    assert all(v >= value - tolerance for r, v in labels.items() if r < row), (value, labels, row)
    assert all(v <= value + tolerance for r, v in labels.items() if r > row), (value, labels, row)


def test_a_single_point_gets_labels_around_it() -> None:
    image = render_plot(
        "p", "", [PlotLine("a", "cyan", _buffer([(5, 4.461)]))], PlotOptions(), 60, 10
    )
    rows = image.plain.splitlines()
    labels = _y_labels(rows)
    dot_row = next(i for i, row in enumerate(rows) if BRAILLE.search(row))
    assert any(v >= 4.461 for r, v in labels.items() if r <= dot_row)
    assert any(v <= 4.461 for r, v in labels.items() if r >= dot_row)


def test_enough_y_labels_for_the_rows_there_are() -> None:
    values = [(s, 2.0 * math.exp(-s / 300)) for s in range(1, 762)]
    for height, least in ((8, 2), (14, 3), (24, 4)):
        image = render_plot(
            "p", "", [PlotLine("a", "cyan", _buffer(values))], PlotOptions(), 80, height
        )
        assert len(_y_labels(image.plain.splitlines())) >= least, (height, image.plain)


def test_a_live_tip_repaints_only_the_rows_it_touches() -> None:
    """The x-axis stays round while a run logs: old points keep their columns, so one more
    step changes the rows around the tip, not the whole picture."""
    values = [(s, 1.0 + 0.5 * math.cos(s / 40)) for s in range(1, 762)]
    buffer = _buffer(values)
    line = [PlotLine("a", "cyan", buffer)]
    before = render_plot("p", "", line, PlotOptions(), 80, 14).rows
    buffer.extend([Point(762, 762, values[-1][1], 762.0)])
    after = render_plot("p", "", line, PlotOptions(), 80, 14).rows
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) <= 3, changed


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=40),
        min_size=1,
        max_size=12,
    ),
    st.integers(4, 64),
    st.integers(8, 64),
)
def test_columns_kept_between_frames_equal_columns_worked_out_afresh(
    batches: list[list[float]], width: int, max_buckets: int
) -> None:
    """A live plot's columns are carried from frame to frame (only the new spans are binned);
    they must equal binning the whole history again, through appends and merges."""
    from tui.series import bucket_columns

    buffer = SeriesBuffer(max_buckets=max_buckets)
    seq = 0
    for batch in batches:
        points = []
        for value in batch:
            seq += 1
            points.append(Point(seq, seq, value, seq * 0.1))
        buffer.extend(points)
        spans, xs = buffer.x_values()
        x_range = (0.0, float(seq + 5))
        assert buffer.columns(width, x_range=x_range) == bucket_columns(
            spans, list(xs), width, x_range
        )
        assert buffer.columns(width, True, x_range=(0.0, seq * 0.1 + 1)) == bucket_columns(
            spans, list(buffer.x_values(True)[1]), width, (0.0, seq * 0.1 + 1)
        )


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-6, 1e6), st.floats(1.05, 1e4), st.integers(6, 30))
def test_a_log_axis_is_labelled_with_round_values_on_their_rows(
    low: float, ratio: float, height: int
) -> None:
    """Log-y labels were 3.981072 and 0.794328: now powers of ten or 1-2-5 values, each on
    the row holding it, and the frame stays aligned whatever their width."""
    high = low * ratio
    spec = ChartSpec(
        title="t", lines=[ChartLine("cyan", [[(0.0, low), (100.0, high)]])], log_y=True
    )
    rows = draw_chart(spec, 60, height).plain.splitlines()
    labels = _y_labels(rows)
    assert len(labels) >= 2, rows
    values = list(labels.values())
    assert values == sorted(values, reverse=True)
    corners = {row.index("┌") for row in rows if "┌" in row} | {
        row.index("└") for row in rows if "└" in row
    }
    assert len(corners) == 1, rows  # every row's frame starts in the same column
    if height >= 9:  # a plot of two or three rows labels its edges with their exact values
        for value in values:
            assert math.isclose(value, float(f"{value:.4g}"), rel_tol=1e-9), values


def test_zero_and_long_counts_read_plainly() -> None:
    """``0k`` was the first label of ``0k 100k 200k``; a single step near 1.2M was labelled
    ``1234566 1234567 1234568``."""
    assert tick_labels([0.0, 100_000.0, 200_000.0]) == ["0", "100k", "200k"]
    assert tick_labels([1_234_566.0, 1_234_567.0, 1_234_568.0], integer=True) == [
        "1,234,566",
        "1,234,567",
        "1,234,568",
    ]


def _gutter(rows: list[str]) -> int:
    """The widest y label's cells (what is left of the frame's ┤ or │)."""
    framed = [row for row in rows if "┤" in row or "│" in row]
    return max((len(re.split("[┤│]", row, maxsplit=1)[0]) for row in framed), default=0)


@settings(max_examples=300)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30),
    st.booleans(),
    st.integers(7, 20),
)
def test_any_finite_values_are_drawn_with_short_labels(
    values: list[float], log_y: bool, height: int
) -> None:
    """A diverged run logs 1e308 and -1e308 (finite floats): the range's arithmetic overflowed
    (the viewer exited at start), labels were written out digit by digit ('5000…376T', 41
    cells: no room was left to draw) and a log axis asked for 10 ** 309 (exited on `l`)."""
    if log_y:
        values = [abs(v) for v in values if v != 0] or [1.0]
    spec = ChartSpec(
        title="t",
        lines=[ChartLine("red", [[(float(i), v) for i, v in enumerate(values)]])],
        log_y=log_y,
    )
    rows = draw_chart(spec, 60, height).plain.splitlines()
    assert any(BRAILLE.search(row) for row in rows), rows
    assert _gutter(rows) <= 11, rows  # -1.698e+308
    # No value labels two rows: a flat series of 5e-324 said `5e-324` on five of them.
    labels = [row.split("┤")[0].strip() for row in rows if "┤" in row]
    assert len(labels) == len(set(labels)), rows


def test_a_flat_subnormal_series_is_labelled_once_on_its_row() -> None:
    spec = ChartSpec(title="t", lines=[ChartLine("red", [[(0.0, 5e-324), (1.0, 5e-324)]])])
    rows = draw_chart(spec, 60, 12).plain.splitlines()
    labelled = [row for row in rows if "┤" in row]
    assert len(labelled) == 1 and labelled[0].startswith("5e-324┤"), rows
    assert BRAILLE.search(labelled[0]), rows  # on the line's own row


def test_a_single_step_is_the_only_x_tick() -> None:
    """One point at step 10,000 was ticked 9,999, 10,000 and 10,001: steps never logged."""
    spec = ChartSpec(title="t", lines=[ChartLine("red", [[(10_000.0, 4.461)]])])
    rows = draw_chart(spec, 60, 12).plain.splitlines()
    assert rows[-1].split() == ["10,000"], rows
    assert rows[-2].count("┬") == 1, rows


def test_a_diverged_run_is_drawn_on_both_axes() -> None:
    diverged = [(float(i), 10.0**i) for i in range(309)]  # then inf, marked apart
    for log_y in (False, True):
        spec = ChartSpec(title="t", lines=[ChartLine("red", [diverged])], log_y=log_y)
        rows = draw_chart(spec, 60, 12).plain.splitlines()
        labels = [row.split("┤")[0].strip() for row in rows if "┤" in row]
        assert labels[0] in ("1.0e+308", "1e+305"), labels  # the top: the decades a float has
        assert sum(len(BRAILLE.findall(row)) for row in rows) > 40, rows
    alternating = [(float(i), 1.7e308 if i % 2 else -1.7e308) for i in range(20)]
    rows = draw_chart(ChartSpec(title="t", lines=[ChartLine("red", [alternating])]), 60, 12)
    assert "-1e+308┤" in rows.plain and "1e+308┤" in rows.plain, rows.plain
    labels = tick_labels([1e26, 2e26, 3e26, 4e26, 5e26])
    assert labels == ["1e+26", "2e+26", "3e+26", "4e+26", "5e+26"], labels


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_finite_x_and_y_are_drawn(points: list[tuple[float, float]]) -> None:
    """An x-axis metric that reaches 1e308 (`X`): the x range overflowed and the viewer
    exited (found by an outside tester)."""
    spec = ChartSpec(title="t", lines=[ChartLine("red", [sorted(points)])], x_integer=False)
    rows = draw_chart(spec, 60, 12).plain.splitlines()
    assert any(BRAILLE.search(row) for row in rows), rows


def test_buckets_of_the_largest_floats_are_drawn() -> None:
    """Sums of 1e308s overflow: bucket means and an x-axis's midpoints were inf."""
    from tui.view.sparkline import sparkline

    values = [(i, 1.7e308 if i % 3 else -1.7e308) for i in range(5000)]
    for log_y in (False, True):
        image = render_plot(
            "t", "", [PlotLine("r", "red", _buffer(values))], PlotOptions(log_y=log_y), 60, 12
        )
        assert BRAILLE.search(image.plain) or log_y, image.plain
    same = _buffer([(i, 1.7e308) for i in range(5000)])
    image = render_plot("t", "", [PlotLine("r", "red", same)], PlotOptions(), 60, 12)
    assert BRAILLE.search(image.plain) and "e+308" in image.plain, image.plain
    assert sparkline([1e308, -1e308, 1e308, 0.0], 12) == "█▁█▄"


@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(1, 12),
)
def test_ticks_of_any_finite_range_lie_in_it(a: float, b: float, count: int) -> None:
    """The sweep's scatter asked for ticks over -1e308..1e308 and the viewer exited."""
    from tui.view.sweep import make_axis
    from tui.view.sweep_draw import axis_ticks

    low, high = min(a, b), max(a, b)
    values = ticks(low, high, count)
    slack = (high / 2 - low / 2) * 2e-12  # the rounding ticks allow at the ends
    assert all(math.isfinite(v) and low - slack <= v <= high + slack for v in values), values
    for where, _ in axis_ticks(make_axis("m", [low, high]), count):
        assert 0.0 <= where <= 1.0 + 1e-9


def test_a_log_axis_of_values_at_or_under_zero_says_so() -> None:
    """It said "(no finite values yet)" of 19 finite negative values (an outside tester)."""
    negative = PlotLine("r", "red", _buffer([(i, -1.0 - i) for i in range(19)]))
    image = render_plot("t", "", [negative], PlotOptions(log_y=True), 60, 12)
    assert "no positive values for a log axis" in image.plain, image.plain
    empty = PlotLine("r", "red", _buffer([(0, math.nan)]))
    image = render_plot("t", "", [empty], PlotOptions(log_y=True), 60, 12)
    assert "no finite values yet" in image.plain, image.plain
