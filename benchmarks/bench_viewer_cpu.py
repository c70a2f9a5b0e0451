"""Viewer CPU: the tracktui TUI beside W&B's terminal viewer LEET (``wandb leet``), same live
workload, same machine, same run, each viewer in a real tmux pane of 120x36.

    python benchmarks/bench_viewer_cpu.py [--workloads 1x10,6x25,50x10,idle] [--seconds 20]
        [--warmup 5] [--reps 3] [--only tracktui|leet] [--venvs /tmp/tracktui-peers]
    python benchmarks/bench_viewer_cpu.py --quick    # smoke test: one rep, 8 s windows

Needs tmux. Workloads: ``RxS`` is R runs each logging S steps/s, 4 metrics a step (train/loss,
eval/loss, train/grad_norm, train/lr), with each tool's default system metrics on (tracktui's
sampler, wandb's system monitor); ``idle`` (``idleR``: R runs, default 6) is runs that logged
for ``--idle-history`` seconds and finished, so nothing changes while the viewer is measured.
Writers are processes of at most ``--runs-per-writer`` runs each (wandb:
``reinit="create_new"``) logging round-robin, the same layout for both tools. wandb runs offline
into one wandb dir and LEET opens that dir: workspace mode, the runs list with the highlighted
run's charts, overview and summary (its system-metrics panel is off by default), where tracktui's
default screen keeps every run's row, the highlighted run's plots and a hardware pane live. wandb
writes its ``.wandb`` file in 32 KiB blocks, flushed when a block fills or every 15 s
(``x_transaction_log_flush_interval``), and LEET sees only what is flushed; ``--wandb-flush 0.1``
makes the writers flush as often as the tracker commits.

Viewer CPU: utime+stime from /proc/PID/stat over the viewer's whole process tree (``wandb leet``
is a Python wrapper waiting on the Go binary ``wandb-core leet``) over ``--seconds`` after
``--warmup`` (viewer up, runs logging), divided by wall time, in % of one core; the writers'
trees (a wandb writer's holds wandb-core and wandb-symon) the same way over the same window.
Each phase has its own tmux server (private socket, killed after it); that server's own CPU,
parsing what the viewer draws, is printed apart. Reps alternate the order of the tools to cancel
drift; medians printed, every rep (the first's last screen of each phase too) in ``--json``.

Then, unless ``--no-latency``, live latency for both viewers: one run logging 10 steps/s (``--latency-load RxS``: run-0 of another workload), from
each log() call to the first ``tmux capture-pane`` (polled every 25 ms) that shows that step or a
later one (tracktui: the run's step column; LEET: the summary's ``_step``); end to end, so it
includes the tracker's 100 ms batching and wandb's block flushes. And unless
``--no-first-paint`` (tracktui only): launch to a screenful of the runs table's rows, and to a
plot with data, in the pane, on 1,000 finished runs of 10,000 points (bench_tui.py's database,
generated once into ``--cache``). wandb is installed into ``--venvs``/venv-wandb on first use, as
bench_peers.py does; if that fails, tracktui is measured alone and the table says why.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from viewer_workload import (
    NO_NETWORK,
    ROOT,
    TMUX_CONF,
    Tmux,
    generate,
    parse_workload,
    proc_table,
    start_writers,
    stop_writers,
    tree_ticks,
    wandb_python,
)

TICK = os.sysconf("SC_CLK_TCK")


class Bench:
    """What every phase needs: the options, a scratch folder, both tools' pythons."""

    def __init__(self, args: argparse.Namespace, scratch: Path, wandb: str | None) -> None:
        self.args, self.scratch, self.wandb = args, scratch, wandb
        self.conf = scratch / "tmux.conf"
        self.conf.write_text(TMUX_CONF)
        self.sessions = 0

    def env(self) -> dict[str, str]:
        env = {**os.environ, **NO_NETWORK, "PYTHONPATH": str(ROOT)}
        env.pop("TMUX", None)
        if self.args.wandb_flush is not None:
            env["BENCH_WANDB_FLUSH"] = str(self.args.wandb_flush)
        return env

    def folder(self, tool: str, what: str) -> tuple[Path, Path]:
        """A fresh folder, and where the tool records in it (a database file, a wandb dir)."""
        folder = Path(tempfile.mkdtemp(prefix=f"{tool}-{what}-", dir=self.scratch))
        return folder, folder / "runs.db" if tool == "tracktui" else folder

    def writers(self, tool: str, runs: int, rate: float, dest: Path, folder: Path,
                max_steps: int, limit: float) -> Any:  # fmt: skip
        python = sys.executable if tool == "tracktui" else str(self.wandb)
        return start_writers(python, self.env(), tool, runs, rate, dest, folder,
                             self.args.runs_per_writer, max_steps, limit)  # fmt: skip

    def viewer(self, tool: str, dest: Path) -> Tmux:
        if tool == "tracktui":
            script = Path(sys.executable).parent / "tracktui"
            command = [str(script)] if script.exists() else [sys.executable, "-m", "tui.cli"]
            command += ["--db", str(dest)]
            if self.args.tracktui_refresh is not None:
                command += ["--refresh", str(self.args.tracktui_refresh)]
        else:
            command = [str(Path(str(self.wandb)).parent / "wandb"), "leet", str(dest / "wandb")]
        self.sessions += 1
        return Tmux(f"bench{os.getpid()}-{self.sessions}", command, self.env(), self.conf)


def cpu_phase(bench: Bench, tool: str, load: dict[str, Any]) -> dict[str, Any]:
    args = bench.args
    folder, dest = bench.folder(tool, load["key"])
    loadavg = os.getloadavg()
    if load["live"]:
        limit = args.warmup + args.seconds + 300
        writers = bench.writers(tool, load["runs"], load["rate"], dest, folder, 10**9, limit)
    else:  # idle: some history, finished before the viewer starts
        done = bench.writers(tool, load["runs"], load["rate"], dest, folder, 10**9,
                             args.idle_history)  # fmt: skip
        stop_writers(done, touch=False)
        writers = []
    view = bench.viewer(tool, dest)
    alive = False
    try:
        time.sleep(args.warmup)
        if not view.alive():
            raise RuntimeError(f"{tool} viewer exited during warm-up: {view.screen()[-600:]}")
        table0, t0 = proc_table(), time.monotonic()
        time.sleep(args.seconds)
        table1, t1 = proc_table(), time.monotonic()
        screen, alive = view.screen(), view.alive()
        view.remember(table1)
    finally:
        view.close()
        reports = stop_writers(writers)
        shutil.rmtree(folder, ignore_errors=True)
    if not alive:
        raise RuntimeError(f"{tool} viewer exited during the window: {screen[-600:]}")
    per_pct = (t1 - t0) * TICK / 100  # ticks that make 1 % of one core over the window
    roots = [proc.pid for proc, _ in writers]
    rates = [r["steps"] / r["elapsed"] for r in reports if r.get("elapsed")]
    return {
        "viewer_pct": (tree_ticks(table1, [view.pane]) - tree_ticks(table0, [view.pane])) / per_pct,
        "writers_pct": (tree_ticks(table1, roots) - tree_ticks(table0, roots)) / per_pct if roots else None,
        "tmux_server_pct": (table1[view.server][1] - table0[view.server][1]) / per_pct,
        "window_s": t1 - t0, "writer_processes": len(roots),
        "steps_per_s_reached": min(rates) if rates else None, "loadavg_before": loadavg,
        "screen": screen,
    }  # fmt: skip


def newest_step(tool: str, screen: str) -> int | None:
    # The project column is left out when the table is too narrow for every column asked for.
    pattern = r"run-0\s+(?:bench\s+)?([\d,]+)\s" if tool == "tracktui" else r"_step\s+([\d,]+)"
    found = re.search(pattern, screen)
    return int(found.group(1).replace(",", "")) if found else None


def latency_phase(bench: Bench, tool: str) -> dict[str, Any]:
    """Steps 0..N-1 of run-0 of ``--latency-load`` (one run at 10 steps/s by default); the
    writers go on logging until the viewer has shown step N-1 (so that a last unflushed block
    is not cut short by finish())."""
    steps = bench.args.latency_steps
    load = parse_workload(bench.args.latency_load)
    folder, dest = bench.folder(tool, "latency")
    writers = bench.writers(tool, load["runs"], load["rate"], dest, folder, 10**9,
                            steps / load["rate"] + 120)  # fmt: skip
    view = bench.viewer(tool, dest)
    seen: list[tuple[float, int]] = []  # (wall time a capture returned, newest step on screen)
    try:
        deadline = time.time() + steps / load["rate"] + 60
        while time.time() < deadline and writers[0][0].poll() is None:
            step = newest_step(tool, view.screen())
            if step is not None and (not seen or step > seen[-1][1]):
                seen.append((time.time(), step))
                if step >= steps - 1:
                    break
            time.sleep(0.025)
        view.remember(proc_table())
    finally:
        view.close()
        times = stop_writers(writers)[0].get("times", [])[:steps]
        shutil.rmtree(folder, ignore_errors=True)
    if not seen:
        return {"error": "no step ever visible", "latencies": []}
    latencies = []
    for step, logged in enumerate(times):
        if logged < seen[0][0] + 1.0:  # logged before the viewer was up and had settled
            continue
        shown = next((t for t, s in seen if s >= step), None)
        if shown is not None:
            latencies.append(shown - logged)
    return {"latencies": latencies, "first_visible_step": seen[0][1], "updates": len(seen)}


def first_paint(bench: Bench, path: Path, runs: int) -> tuple[float, float]:
    """(launch to a screenful of the runs table's rows, launch to rows and a plot with data);
    the clock starts before tmux starts its server."""
    view = bench.viewer("tracktui", path)
    rows = plot = 0.0
    try:
        while time.perf_counter() - view.started < 120 and not plot:
            screen = view.screen()
            now = time.perf_counter() - view.started
            shown = re.findall(r"run-\d+\s+(?:bench\s+)?[\d,]+", screen)  # project may be out
            if not rows and len(shown) >= min(runs, 5):
                rows = now
            if rows and re.search("┤[\u2801-\u28ff]", screen):  # an axis, then braille points
                plot = now
            time.sleep(0.01)
        view.remember(proc_table())
    finally:
        view.close()
    return rows, plot


def checkout() -> str:
    """The commit measured, "-dirty" when tracked files differ from it."""
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip() or "?"


def med(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f}" if values else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="1x10,6x25,50x10,idle")
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", choices=("tracktui", "leet"))
    parser.add_argument("--tracktui-refresh", type=float, default=None,
                        help="tracktui --refresh (default: its own, 0.2 s)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="1 rep, 8 s windows, 120 steps")
    parser.add_argument("--runs-per-writer", type=int, default=10)
    parser.add_argument("--idle-history", type=float, default=4.0, help="seconds idle runs log")
    parser.add_argument("--wandb-flush", type=float, help="x_transaction_log_flush_interval, s")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--latency-steps", type=int, default=200)
    parser.add_argument("--latency-load", default="1x10", help="RxS: the latency phase's writers")
    parser.add_argument("--no-first-paint", action="store_true")
    parser.add_argument("--paint-runs", type=int, default=1000)
    parser.add_argument("--cache", default="/tmp/tracktui-bench")
    parser.add_argument("--venvs", default="/tmp/tracktui-peers")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument(
        "--json", default=str(Path(__file__).resolve().parent / "viewer_cpu_result.json")
    )
    args = parser.parse_args()
    if args.quick:
        args.reps, args.seconds, args.warmup, args.latency_steps = 1, 8.0, 3.0, 120
    if shutil.which("tmux") is None:
        sys.exit("bench_viewer_cpu.py needs tmux (apt-get install tmux)")
    loads = [parse_workload(w) for w in args.workloads.split(",")]
    python, wandb_version = None, "not run (--only tracktui)"
    if args.only != "tracktui":
        python, wandb_version = wandb_python(Path(args.venvs), not args.no_install)
        if python is None:
            print(f"LEET skipped: {wandb_version}", file=sys.stderr)
    tools = [
        t for t in ("tracktui", "leet") if args.only in (None, t) and (t == "tracktui" or python)
    ]
    result: dict[str, Any] = {"args": vars(args), "commit": checkout(), "wandb": wandb_version,
        "nproc": os.cpu_count(), "loadavg_start": os.getloadavg(), "phases": [], "latency": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="viewer-cpu-") as scratch:
        bench = Bench(args, Path(scratch), python)
        for rep in range(args.reps):
            for load in loads:
                for tool in tools if rep % 2 == 0 else tools[::-1]:
                    try:
                        figures = cpu_phase(bench, tool, load)
                    except RuntimeError as exc:
                        figures = {"error": str(exc)}
                    if rep:  # the first rep's last screens are enough
                        figures.pop("screen", None)
                    result["phases"].append(
                        {"rep": rep, "workload": load["key"], "tool": tool, **figures}
                    )
                    print(f"rep {rep} {load['key']:>6} {tool:>8}: viewer {figures.get('viewer_pct', -1):5.1f}"
                          f" %core {figures.get('error', '')[:200]}", file=sys.stderr, flush=True)  # fmt: skip
        for tool in tools if not args.no_latency else []:
            result["latency"][tool] = latency_phase(bench, tool)
        if not args.no_first_paint and "tracktui" in tools:
            path = Path(args.cache) / f"runs{args.paint_runs}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            generate(path, args.paint_runs, 10_000)
            paints = [first_paint(bench, path, args.paint_runs) for _ in range(args.reps)]
            result["first_paint"] = {
                "rows_s": [p[0] for p in paints],
                "plot_s": [p[1] for p in paints],
            }
    result["loadavg_end"], result["commit_end"] = os.getloadavg(), checkout()
    Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    report(result, args, loads, tools)


def report(result: dict[str, Any], args: argparse.Namespace, loads: list[dict[str, Any]],
           tools: list[str]) -> None:  # fmt: skip
    def values(tool: str, load: str, field: str = "viewer_pct") -> list[float]:
        return [p[field] for p in result["phases"]
                if p["tool"] == tool and p["workload"] == load and p.get(field) is not None]  # fmt: skip

    load_text = " ".join(f"{x:.2f}" for x in result["loadavg_start"])
    flush = "wandb's default" if args.wandb_flush is None else f"{args.wandb_flush:g} s"
    print(f"\nmachine: {platform.machine()}, nproc {result['nproc']}, load average {load_text} at start,"
          f" {' '.join(f'{x:.2f}' for x in result['loadavg_end'])} at end; tracktui {result['commit']},"
          f" wandb {result['wandb']} (.wandb flush interval: {flush})")  # fmt: skip
    if result["commit_end"] != result["commit"]:
        print(
            f"note: the checkout changed during the run, {result['commit']} -> {result['commit_end']}"
        )
    print(f"viewers in tmux 120x36; CPU of each process tree over {args.seconds:g} s after"
          f" {args.warmup:g} s warm-up, % of one core, median of {args.reps} interleaved reps\n")  # fmt: skip
    print(
        "| workload | tracktui %core | LEET %core | ratio | writers' own %core (tracker · wandb) |"
    )
    print("| --- | --- | --- | --- | --- |")
    notes = []
    for load in loads:
        key = load["key"]
        ours, theirs = values("tracktui", key), values("leet", key)
        ratio = "n/a"
        if ours and theirs and statistics.median(theirs) > 0:
            ratio = f"{statistics.median(ours) / statistics.median(theirs):.1f}×"
        writers = "- (finished)"
        if load["live"]:
            writers = f"{med(values('tracktui', key, 'writers_pct'))} · {med(values('leet', key, 'writers_pct'))}"
        leet = med(theirs) if "leet" in tools else f"skipped: {result['wandb']}"
        print(f"| {load['label']} | {med(ours)} | {leet} | {ratio} | {writers} |")
        for tool in tools:
            reached = values(tool, key, "steps_per_s_reached")
            if load["live"] and reached and min(reached) < 0.95 * load["rate"]:
                notes.append(
                    f"{tool} writers reached only {min(reached):.1f} of {load['rate']:g} steps/s in {key}"
                )
            notes += [f"{tool} {key} rep {p['rep']}: {p['error'][:300]}" for p in result["phases"]
                      if p["tool"] == tool and p["workload"] == key and "error" in p]  # fmt: skip
    servers = ", ".join(f"{load['key']} {med(values('tracktui', load['key'], 'tmux_server_pct'))} · "
                        f"{med(values('leet', load['key'], 'tmux_server_pct'))}" for load in loads)  # fmt: skip
    print(f"\ntmux server's own %core (tracktui · LEET): {servers}")
    for note in notes:
        print(f"note: {note}")
    for tool, live in result["latency"].items():
        lat = live.get("latencies", [])
        if len(lat) > 2:
            p95 = statistics.quantiles(lat, n=20)[-1]
            print(f"live latency {tool}: log() to visible in capture-pane"
                  f" ({parse_workload(args.latency_load)['label']}, polled every"
                  f" 25 ms): p50 {statistics.median(lat) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms over"
                  f" {len(lat)} steps, {live['updates']} screen updates")  # fmt: skip
        else:
            print(f"live latency {tool}: n/a ({live.get('error', 'too few steps seen')})")
    if "first_paint" in result:
        paint = result["first_paint"]
        print(f"first paint, tracktui on {args.paint_runs:,} finished runs of 10,000 points: rows"
              f" visible {med(paint['rows_s'], 2)} s, rows and a plot {med(paint['plot_s'], 2)} s"
              f" (median of {args.reps}, from launching tmux)")  # fmt: skip
    print(f"every rep: {args.json}")


if __name__ == "__main__":
    main()
