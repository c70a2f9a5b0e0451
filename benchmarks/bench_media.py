"""Cost of media and console capture, each against a baseline measured in the same run.

    python benchmarks/bench_media.py [--reps 5] [--images 200]

- ``print()`` with console capture on vs off (the same stream underneath: /dev/null).
- ``log()`` of an image (64×64 RGB, ``tracker.Image`` built in the loop) vs ``log()`` of 4
  scalars: what the training loop pays; PNG encoding is the writer thread's.
- Images written per second until durable (``flush``), and bytes per image in the file
  (256×256 decision maps like the demo's: smooth regions and edges).
- ``tracker.Histogram`` of 1M float32 values (numpy binning, in the caller's thread).
- Reading back: the media index of a run and the data of one image, as the TUI does, and how
  long after ``log()`` a reader polling like the TUI's finds a new image.
Medians of ``--reps`` repetitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import tracker
from tracker.db.sqlite.store import SqliteStore
from tui.simulate_media import decision_map

os.environ["TRACKTUI_SYSTEM_METRICS"] = "0"


def per_call_us(function: object, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()  # type: ignore[operator]
    return (time.perf_counter() - started) / calls * 1e6


def print_cost(folder: Path, calls: int) -> tuple[float, float]:
    real = sys.stdout
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            off = per_call_us(lambda: print("step 10 | loss 1.2345"), calls)
            run = tracker.init(db=folder / "print.db", quiet=True)
            on = per_call_us(lambda: print("step 10 | loss 1.2345"), calls)
            run.finish()
        finally:
            sys.stdout = real
    return off, on


def log_cost(folder: Path, calls: int) -> tuple[float, float]:
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    run = tracker.init(db=folder / "log.db", quiet=True, console=False)
    scalars = per_call_us(lambda: run.log({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}), calls * 10)
    image = per_call_us(lambda: run.log({"img": tracker.Image(pixels)}), calls)
    run.finish()
    return scalars, image


def image_throughput(folder: Path, count: int) -> tuple[float, float]:
    path = folder / "images.db"
    # prediction-like pictures: smooth regions and edges (the demo's decision maps), 256x256
    frames = [decision_map(step, step / 8, size=256) for step in range(8)]
    run = tracker.init(db=path, quiet=True, console=False)
    run.flush()
    started = time.perf_counter()
    for index in range(count):
        run.log({"img": tracker.Image(frames[index % 8])}, step=index)
    run.flush()
    elapsed = time.perf_counter() - started
    run.finish()
    st = SqliteStore.for_reading(path)
    stored = st.conn.execute("SELECT sum(length(data)) FROM media").fetchone()[0]
    st.close()
    return count / elapsed, stored / count


def histogram_ms() -> float:
    values = np.random.default_rng(2).standard_normal(1_000_000).astype(np.float32)
    started = time.perf_counter()
    tracker.Histogram(values)
    return (time.perf_counter() - started) * 1000


def read_back_ms(folder: Path) -> tuple[float, float]:
    path = folder / "images.db"
    st = SqliteStore.for_reading(path)
    (run,) = st.read_runs()
    started = time.perf_counter()
    rows = st.read_media_index(run.id)
    index_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    st.read_media_data([rows[-1][0]])
    data_ms = (time.perf_counter() - started) * 1000
    st.close()
    return index_ms, data_ms


def media_latency(folder: Path, count: int = 40) -> tuple[float, float]:
    """From ``log()`` of an image to a reader (polling ``change_token()`` every 5 ms, as the TUI's
    reader does after a watchdog event) finding it in the run's media index: p50, p95 in ms."""
    import threading

    path = folder / "latency.db"
    run = tracker.init(db=path, quiet=True, console=False)
    run.flush()
    logged: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def reader() -> None:
        st = SqliteStore.for_reading(path)
        last_token: object = None
        after = 0
        while not stop.is_set():
            token = st.change_token()
            if token != last_token:
                last_token = token
                for row in st.read_media_index(run.id, after):
                    seen.setdefault(row[2], time.perf_counter())
                    after = row[0]
            time.sleep(0.005)
        st.close()

    thread = threading.Thread(target=reader)
    thread.start()
    pixels = np.zeros((64, 64, 3), np.uint8)
    for step in range(count):
        logged[step] = time.perf_counter()
        run.log({"img": tracker.Image(pixels)}, step=step)
        time.sleep(0.1)
    run.flush()
    time.sleep(0.1)
    stop.set()
    thread.join()
    run.finish()
    delays = sorted((seen[s] - logged[s]) * 1000 for s in logged if s in seen)
    return statistics.median(delays), delays[int(len(delays) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    for _ in range(args.reps):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            off, on = print_cost(folder, args.calls)
            keep("print() µs, capture off", off)
            keep("print() µs, capture on", on)
            scalars, image = log_cost(folder, args.calls // 20)
            keep("log() µs, 4 scalars", scalars)
            keep("log() µs, Image(64x64 RGB) built + logged", image)
            rate, size = image_throughput(folder, args.images)
            keep("images/s durable (256x256 RGB PNG)", rate)
            keep("stored bytes per image", size)
            keep("Histogram(1M float32) ms", histogram_ms())
            index_ms, data_ms = read_back_ms(folder)
            keep(f"read media index ({args.images} rows) ms", index_ms)
            keep("read one image's data ms", data_ms)
            p50, p95 = media_latency(folder)
            keep("image log() -> visible to a reader, p50 ms", p50)
            keep("image log() -> visible to a reader, p95 ms", p95)
    print(f"medians of {args.reps} runs")
    for name, values in results.items():
        print(f"  {name:<48} {statistics.median(values):>12,.2f}")
    off = statistics.median(results["print() µs, capture off"])
    on = statistics.median(results["print() µs, capture on"])
    print(f"  console capture adds {on - off:.2f} µs per print ({on / off:.2f}x)")


if __name__ == "__main__":
    main()
