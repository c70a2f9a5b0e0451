"""Check the NVML path on a real NVIDIA GPU in well under five minutes.

    python benchmarks/gpu_check.py [--out DIR]

1. every GPU's values from tracker's NvmlGpuSource side by side with ``nvidia-smi``;
2. the cost of each NVML call and of a whole sample (wall and CPU time, median of 200), and the
   sampler's share of one core at the default 2 s interval;
3. per-process memory attribution: a child process allocates 1 GiB on GPU 0 (PyTorch) and must
   show up in the process list and in ``sys/gpu/0/run_mem``;
4. end to end: a tracked run that holds GPU memory records ``sys/gpu/*`` in its database.
Results go to stdout and, as JSON, to ``--out``/gpu_check.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.system.gpu import NvmlGpuSource, gpu_values, import_nvml  # noqa: E402
from tracker.system.sampler import SystemSampler  # noqa: E402

GIB = 1024**3
SMI_FIELDS = (
    "index,name,utilization.gpu,utilization.memory,memory.used,memory.total,temperature.gpu,"
    "power.draw,power.limit,clocks.sm,clocks.mem"
)


def nvidia_smi() -> list[dict[str, str]]:
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    names = SMI_FIELDS.split(",")
    return [
        dict(zip(names, (v.strip() for v in line.split(",")), strict=True))
        for line in out.strip().splitlines()
    ]


def timed(function: Any, repeats: int = 200) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        function()
        cpus.append(time.thread_time() - c0)
        walls.append(time.perf_counter() - w0)
    return {"wall_us": statistics.median(walls) * 1e6, "cpu_us": statistics.median(cpus) * 1e6}


def compare(source: NvmlGpuSource) -> list[dict[str, Any]]:
    smi = nvidia_smi()
    samples = source.sample()
    rows = []
    for s, ref in zip(samples, smi, strict=False):
        rows.append({
            "index": s.index,
            "util_%": (s.util, ref["utilization.gpu"]),
            "mem_busy_%": (s.mem_busy, ref["utilization.memory"]),
            "mem_used_MiB": (None if s.mem_used is None else round(s.mem_used / 2**20), ref["memory.used"]),
            "mem_total_MiB": (None if s.mem_total is None else round(s.mem_total / 2**20), ref["memory.total"]),
            "temp_C": (s.temp, ref["temperature.gpu"]),
            "power_W": (s.power, ref["power.draw"]),
            "power_limit_W": (s.power_limit, ref["power.limit"]),
            "sm_clock_MHz": (s.sm_clock, ref["clocks.sm"]),
            "mem_clock_MHz": (s.mem_clock, ref["clocks.mem"]),
        })  # fmt: skip
    return rows


def call_costs(nvml: Any) -> dict[str, dict[str, float]]:
    handle = nvml.nvmlDeviceGetHandleByIndex(0)
    calls = {
        "GetUtilizationRates": lambda: nvml.nvmlDeviceGetUtilizationRates(handle),
        "GetMemoryInfo_v2": lambda: nvml.nvmlDeviceGetMemoryInfo(
            handle, version=nvml.nvmlMemory_v2
        ),
        "GetMemoryInfo_v1": lambda: nvml.nvmlDeviceGetMemoryInfo(handle),
        "GetTemperatureV": lambda: nvml.nvmlDeviceGetTemperatureV(
            handle, nvml.NVML_TEMPERATURE_GPU
        ),
        "GetPowerUsage": lambda: nvml.nvmlDeviceGetPowerUsage(handle),
        "GetEnforcedPowerLimit": lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle),
        "GetClockInfo_SM": lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM),
        "GetComputeRunningProcesses": lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle),
    }
    costs = {}
    for name, call in calls.items():
        try:
            costs[name] = timed(call)
        except nvml.NVMLError as exc:
            costs[name] = {"error": str(exc)}  # type: ignore[dict-item]
    return costs


HOLDER = """
import os, sys, time, torch
block = torch.empty(1 << 30, dtype=torch.uint8, device="cuda:0")
torch.cuda.synchronize()
print(os.getpid(), flush=True)
time.sleep(float(sys.argv[1]))
"""

TRACKED = """
import sys, time, torch, tracker
block = torch.empty(1 << 30, dtype=torch.uint8, device="cuda:0")
run = tracker.init(project="gpu-check", name="holds-1GiB", db=sys.argv[1], system_interval=0.5)
for step in range(24):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(0.5)
run.finish()
"""


def attribution(source: NvmlGpuSource) -> dict[str, Any]:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), "20"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        pid = int(child.stdout.readline())
        time.sleep(1.0)
        samples = source.sample(with_processes=True)
        listed = [(p.pid, p.used_memory) for p in samples[0].processes or ()]
        values = gpu_values(samples, run_pids={pid})
        return {
            "child_pid": pid,
            "nvml_processes_gpu0": listed,
            "child_found": any(p == pid for p, _ in listed),
            "run_mem_GiB": None
            if "sys/gpu/0/run_mem" not in values
            else values["sys/gpu/0/run_mem"] / GIB,
        }
    finally:
        child.kill()
        child.wait()


def end_to_end() -> dict[str, Any]:
    from tracker.db.sqlite.store import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(TRACKED), str(db)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        st = SqliteStore.for_reading(db)
        (run,) = st.read_runs()
        st.close()
        gpu = {k: m.as_json() for k, m in run.metrics.items() if k.startswith("sys/gpu/0/")}
        return {"status": run.status, "stderr": done.stderr[-2000:], "gpu0_metrics": gpu}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    nvml = import_nvml()
    source = NvmlGpuSource()
    infos = source.open()
    results["gpus"] = [dataclasses.asdict(info) for info in infos]
    results["driver"] = nvml.nvmlSystemGetDriverVersion()
    results["compare_with_nvidia_smi"] = compare(source)
    results["nvml_call_costs_gpu0"] = call_costs(nvml)
    results["gpu_sample"] = timed(lambda: source.sample())
    results["gpu_sample_with_processes"] = timed(lambda: source.sample(with_processes=True), 50)
    sampler = SystemSampler(disk_path=tempfile.gettempdir())
    sampler.sample()
    results["system_sample"] = timed(sampler.sample, 100)
    per_sample_cpu = results["system_sample"]["cpu_us"] / 1e6
    results["share_of_one_core_at_2s_%"] = 100 * per_sample_cpu / 2.0
    sampler.close()
    results["attribution"] = attribution(source)
    source.close()
    results["end_to_end"] = end_to_end()
    text = json.dumps(results, indent=2, default=str)
    print(text)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "gpu_check.json").write_text(text)


if __name__ == "__main__":
    main()
