"""What ``?`` lists on each screen: the runs table's keys, a run's, a comparison's (the plot
keys they share come last on each)."""

from __future__ import annotations

KEYS_HELP: list[tuple[str, str]] = [
    ("up / down, j / k", "move in the runs table"),
    ("enter", "open the highlighted run (plots of every metric, hardware, config, summary)"),
    ("left / right", "choose the column to sort by (reversed in the header)"),
    ("s / S", "sort by that column (again: reverse) / reverse"),
    ("/", "filter: status=finished cfg.lr<1e-3 metrics.eval/loss<2 NOT tag=debug; enter applies"),
    ("space", "select or unselect the run for comparison (■), then move to the next row"),
    ("c", "compare the selected runs: overlaid plots, config diff, summaries (d: all keys)"),
    ("p", "pin the run as a baseline at the top (^)"),
    ("b / t", "mark the best run by a metric (★; m flips min/max) / tag it 'best' in the file"),
    ("e", "export the table as shown: CSV, Markdown, LaTeX, to a file and the clipboard"),
    ("o", "choose, hide and reorder columns (r: defaults)"),
    ("w", "sweep views of the selected (or filtered) runs: group curves, scatter, parallel axes"),
    ("escape", "clear the filter; back from a run or comparison; close this help"),
    ("tab / shift+tab", "next / previous pane"),
    ("x", "x-axis: step (or the run's define_metric step metric) / time / each step metric"),
    ("X", "x-axis: pick any metric of the runs shown (paired by step), or the logged step"),
    ("l", "log-scale y on / off"),
    ("m", "smoothing (causal EMA) on / off; the raw line stays faint"),
    ("+ / -", "more / less smoothing"),
    ("1 / 2 / 3 / 4 / 5", "in a run: show or hide plots / hardware / media / console / config"),
    ("6", "in a run: bottleneck view: throughput, GPU, CPU, disk, network, and a diagnosis"),
    ("n", "ring the terminal bell on new health events and alerts, on / off"),
    ("3 / 4", "in the runs table: open the highlighted run at its media / console"),
    ("3 (compare)", "the selected runs' media side by side on one step cursor"),
    ("tab", "in a run: move between plots, media and console"),
    ("left / right, home / end", "media: earlier / later step, first / last (last = live)"),
    ("up / down", "media: choose the image, table, histogram or confusion matrix"),
    ("v / r", "media: a table's prompt across steps / image renderer (half cells, Kitty, Sixel)"),
    ("f, n / N", "console: search, next / previous match; end: follow the tail"),
    ("?", "this help"),
    ("q", "quit"),
]


# The keys every screen with plots has (listed under each screen's own in its help).
PLOT_KEYS: list[tuple[str, str]] = [
    ("x", "x-axis: step (or the run's define_metric step metric) / time / each step metric"),
    ("X", "x-axis: pick any metric of the runs shown (paired by step), or the logged step"),
    ("l", "log-scale y on / off"),
    ("m", "smoothing (causal EMA) on / off; the raw line stays faint"),
    ("+ / -", "more / less smoothing"),
    ("?", "this help"),
    ("q", "quit"),
]
MEDIA_KEYS: list[tuple[str, str]] = [
    ("left / right, home / end", "media: earlier / later step, first / last (last = live)"),
    ("up / down", "media: choose the image, table, histogram or confusion matrix"),
    ("v / r", "media: a table's prompt across steps / image renderer (half cells, Kitty, Sixel)"),
]
RUN_KEYS: list[tuple[str, str]] = [
    ("escape", "back to the runs table"),
    ("1 / 2 / 3 / 4 / 5", "show or hide plots / hardware / media / console / config"),
    ("6", "bottleneck view: throughput, GPU, CPU, disk, network on one time axis; a diagnosis"),
    ("n", "ring the terminal bell on new health events and alerts, on / off"),
    ("tab / shift+tab", "move between plots, media and console"),
    *MEDIA_KEYS,
    ("f, n / N", "console: search, next / previous match; end: follow the tail"),
    *PLOT_KEYS,
]
COMPARE_KEYS: list[tuple[str, str]] = [
    ("escape", "back to the runs table"),
    ("d", "config and summary: only the keys that differ / all keys"),
    ("] [", "the next / previous runs when they do not all fit side by side"),
    ("3", "the runs' media side by side on one step cursor"),
    *MEDIA_KEYS,
    *PLOT_KEYS,
]
SWEEP_KEYS: list[tuple[str, str]] = [
    ("escape", "back to the runs table"),
    ("1 / 2 / 3, tab", "group curves (mean, min/max band) / scatter / parallel coordinates"),
    ("g", "group by: a config key that differs between the runs, or their tags"),
    ("G", "the groups the curves draw: best ten by default; space toggles, enter applies"),
    ("m", "the metric (curves, scatter's y, the parallel coordinates' last axis and colour)"),
    ("x", "the scatter's x: a config key"),
    ("a", "the parallel coordinates' config axes (space toggles, enter applies)"),
    ("l", "each run's best value (by the metric's direction) / its last value"),
    ("up / down, k / j", "highlight (◆) the next / previous run, best first"),
    ("L", "log-scale y of the curves on / off"),
    ("?", "this help"),
    ("q", "quit"),
]
