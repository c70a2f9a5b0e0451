"""Hardware gauges for a set of ``sys/`` values: a machine (``tracktui system``) or a run.

Rows follow :data:`LAYOUT`; bars are against the metric's total (RAM, GPU memory, power
limit) or its fixed range (percentages); rates scale to their recent peak; values without a
natural top (clocks) get no bar.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll

from tracker.system.keys import describe

from ..formatting import cut_cells, cut_cells_left, format_bytes, format_with_unit
from .gauge import Gauge, level_style

LAYOUT: tuple[tuple[str, str], ...] = (
    ("sys/gpu/{i}/util", "GPU {i}"),
    ("sys/gpu/{i}/mem_used", "GPU {i} mem"),
    ("sys/gpu/{i}/run_mem", "GPU {i} run mem"),
    ("sys/gpu/{i}/temp", "GPU {i} temp"),
    ("sys/gpu/{i}/power", "GPU {i} power"),
    ("sys/gpu/{i}/sm_clock", "GPU {i} SM clk"),
    ("sys/cpu/util", "CPU"),
    ("sys/cpu/core/{k}/util", "  core {k}"),
    ("sys/cpu/load1", "Load 1m"),
    ("sys/proc/cpu", "Run CPU"),
    ("sys/mem/used", "RAM"),
    ("sys/proc/rss", "Run RSS"),
    ("sys/swap/used", "Swap"),
    ("sys/cgroup/mem/used", "Container RAM"),
    ("sys/cgroup/cpu/util", "Container CPU"),
    ("sys/disk/used", "Disk"),
    ("sys/disk/read_bps", "Disk read"),
    ("sys/disk/write_bps", "Disk write"),
    ("sys/net/recv_bps", "Net in"),
    ("sys/net/sent_bps", "Net out"),
)


TITLE_CELLS = 12  # the title column of a narrow gauge, as Gauge draws it
VALUE_CELLS = 9  # the value column of a narrow gauge
MIN_BAR = 4


class PanelGauge(Gauge):
    """A :class:`Gauge` that, short of room, leaves things out before it cuts its value: its
    sparkline and its detail (``/ 15.5 GiB``) first, then its bar, then the end of its title
    (with ``…``); the value and its unit (``1.3 GiB``) stay whole."""

    def render(self) -> Text:
        line = super().render()
        width = self.size.width or 80
        if line.cell_len <= width:
            return line  # the full gauge fits
        return self.render_fitted(width)

    def render_fitted(self, width: int) -> Text:
        """Title, bar and value in ``width`` cells, the bar left out first, then the title's
        end; the bars of a panel end together where the values fit in ``VALUE_CELLS``."""
        value = format_with_unit(self.value, self.unit)
        if len(value) >= width:
            return Text(cut_cells(value, width), no_wrap=True)
        title_cells = min(TITLE_CELLS, width - len(value) - 1)
        line = Text(no_wrap=True)
        line.append(cut_cells(self.title, title_cells).ljust(title_cells), style="bold")
        line.append(" ")
        value_cells = max(len(value), VALUE_CELLS)
        bar = width - title_cells - 1 - value_cells - 1
        if bar < MIN_BAR:  # a short value (``98%``) may still leave room for a short bar
            value_cells = len(value)
            bar = width - title_cells - 1 - value_cells - 1
        if bar >= MIN_BAR and self.value is not None and self.high:
            fraction = max(0.0, min(1.0, self.value / self.high))
            filled = round(fraction * bar)
            line.append("█" * filled, style="cyan" if self.relative else level_style(fraction))
            line.append("░" * (bar - filled), style="grey35")
            line.append(" " + value.rjust(value_cells))
        else:
            line.append(value.rjust(width - title_cells - 1))
        return line


NODE_PREFIX = "sys/node/"


def split_node(key: str) -> tuple[str, str]:
    """``sys/node/<label>/gpu/0/util`` -> (``sys/node/<label>/``, ``sys/gpu/0/util``): another
    node's reading and the key it would have on its own machine."""
    if key.startswith(NODE_PREFIX):
        parts = key.split("/", 3)
        if len(parts) == 4 and parts[2]:
            return f"{NODE_PREFIX}{parts[2]}/", f"sys/{parts[3]}"
    return "sys/", key


def node_rows(keys: set[str], show_cores: bool) -> list[tuple[str, str]]:
    """The essentials of every other node of a distributed run, node by node, each titled
    with its label, so a straggler or an idle GPU on one node is seen."""
    nodes: dict[str, set[str]] = {}
    for key in keys:
        prefix, base = split_node(key)
        if prefix != "sys/":
            nodes.setdefault(prefix, set()).add(base)
    rows: list[tuple[str, str]] = []
    for prefix in sorted(nodes):
        label = prefix[len(NODE_PREFIX) : -1]
        rows += [
            (prefix + key[len("sys/") :], f"{cut_cells_left(label, 8)} {title}")
            for key, title in ordered_rows(nodes[prefix], show_cores, compact=True, nodes=False)
        ]
    return rows


def ordered_rows(
    keys: set[str], show_cores: bool = False, compact: bool = False, nodes: bool = True
) -> list[tuple[str, str]]:
    """The rows to show, in layout order, for the keys present. ``compact`` keeps the essentials."""
    essentials = {
        "sys/gpu/{i}/util",
        "sys/gpu/{i}/mem_used",
        "sys/cpu/util",
        "sys/mem/used",
        "sys/proc/rss",
    }
    gpus = sorted(
        {
            int(k.split("/")[2])
            for k in keys
            if k.startswith("sys/gpu/") and k.split("/")[2].isdigit()
        }
    )
    cores = sorted({int(k.split("/")[3]) for k in keys if k.startswith("sys/cpu/core/")})
    rows: list[tuple[str, str]] = []
    for pattern, label in LAYOUT:
        if compact and pattern not in essentials:
            continue
        if "{i}" in pattern:
            rows += [
                (pattern.format(i=g), label.format(i=g))
                for g in gpus
                if pattern.format(i=g) in keys
            ]
        elif "{k}" in pattern:
            if show_cores:
                rows += [
                    (pattern.format(k=c), label.format(k=c))
                    for c in cores
                    if pattern.format(k=c) in keys
                ]
        elif pattern in keys:
            rows.append((pattern, label))
    return rows + node_rows(keys, show_cores) if nodes else rows


class HardwarePanel(VerticalScroll):
    DEFAULT_CSS = """
    HardwarePanel { padding: 0 1; }
    """

    def __init__(
        self, compact: bool = False, changes_only: bool = False, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.compact = compact
        self.changes_only = changes_only  # a run's last values repeat: keep only new ones
        self.show_cores = False
        self.gauges: dict[str, Gauge] = {}
        self.values: dict[str, float] = {}

    def clear_values(self) -> None:
        self.values = {}
        self._sync_rows()

    def update_values(self, values: dict[str, float]) -> None:
        """New readings (a sample, or a run's last values); sizes and limits are kept."""
        held = self.values
        if self.changes_only and self.gauges and all(held.get(k) == v for k, v in values.items()):
            return  # a run's last values again (every frame while it logs): nothing to draw
        held.update(values)
        self._sync_rows()
        for key, gauge in self.gauges.items():
            if key in values:
                high, detail = self._scale(key, values[key], gauge)
                gauge.relative = (describe(split_node(key)[1]) or gauge).unit == "B/s"
                repeat = bool(gauge.history) and gauge.history[-1] == values[key]
                gauge.update_value(
                    values[key], high, detail, record=not (self.changes_only and repeat)
                )

    def set_show_cores(self, show: bool) -> None:
        self.show_cores = show
        self._sync_rows()

    def _scale(self, key: str, value: float, gauge: Gauge) -> tuple[float | None, str]:
        prefix, base = split_node(key)
        info = describe(base)
        if info is None:
            return None, ""
        total_key = prefix + info.total_key[len("sys/") :] if info.total_key else None
        total = self.values.get(total_key) if total_key else None
        if total:
            return total, (
                f"/ {format_bytes(total)}" if info.unit == "B" else f"/ {total:.0f} {info.unit}"
            )
        if info.high is not None:
            return info.high, ""
        cores = self.values.get(prefix + "cpu/count")
        if base == "sys/cpu/load1" and cores:
            return cores, ""
        if base == "sys/proc/cpu" and cores:
            return 100.0 * cores, ""
        if info.unit != "B/s":
            return None, ""  # no natural top (clocks, counts): no bar
        top = max([value, *gauge.history]) if gauge.history else value
        return (top or 1.0), ""

    def _sync_rows(self) -> None:
        wanted = ordered_rows(set(self.values), self.show_cores, self.compact)
        if [key for key, _ in wanted] == list(self.gauges):
            return
        old, self.gauges = self.gauges, {}
        for key, label in wanted:
            info = describe(split_node(key)[1])
            gauge = PanelGauge(label, info.unit if info else "", info.high if info else None)
            if key in old:  # rebuilt rows keep their history
                gauge.history.extend(old[key].history)
                gauge.value, gauge.high, gauge.detail = (
                    old[key].value,
                    old[key].high,
                    old[key].detail,
                )
            elif key in self.values:
                high, detail = self._scale(key, self.values[key], gauge)
                gauge.value, gauge.high, gauge.detail = self.values[key], high, detail
            self.gauges[key] = gauge
        self.remove_children()
        self.mount_all(self.gauges.values())
