"""Hardware metrics: the NVML source against a fake that raises the real pynvml errors, the
psutil host sampler with real child processes, cgroup limits on fake trees, the key registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pynvml
import pytest

import tracker
from tracker.system.cgroup import CgroupSampler, detect
from tracker.system.fake_nvml import FakeNvml
from tracker.system.gpu import GpuSource, GpuUnavailable, NvmlGpuSource, gpu_values, import_nvml
from tracker.system.host import HostSampler, descendants
from tracker.system.keys import describe
from tracker.system.sampler import SystemSampler
from tui.cli import main

from .helpers import run_python, wait_for

GIB = 1024**3


def open_source(devices: list[dict[str, object]]) -> tuple[NvmlGpuSource, FakeNvml]:
    fake = FakeNvml(devices)
    source = NvmlGpuSource(nvml=fake)
    source.open()
    return source, fake


def test_two_gpus_values_and_units() -> None:
    source, _ = open_source(
        [{"mem_used": 30 * GIB, "mem_total": 80 * GIB}, {"util_gpu": 97, "power_mw": 612_500}]
    )
    assert isinstance(source, GpuSource)
    first, second = source.sample()
    assert (first.mem_used, first.mem_total, first.util, first.temp) == (
        30 * GIB,
        80 * GIB,
        50.0,
        55.0,
    )
    assert (second.util, second.power, second.power_limit) == (97.0, 612.5, 700.0)  # mW -> W
    values = gpu_values([first, second])
    assert values["sys/gpu/0/mem_util"] == pytest.approx(37.5)
    assert values["sys/gpu/1/power_util"] == pytest.approx(87.5)
    assert values["sys/gpu/1/sm_clock"] == 1755.0 and "sys/gpu/0/run_mem" not in values


def test_unsupported_field_is_none_and_never_asked_again() -> None:
    source, fake = open_source(
        [{}, {"power_mw": pynvml.NVMLError_NotSupported, "temp": pynvml.NVMLError_NoPermission}]
    )
    for _ in range(3):
        _, second = source.sample()
        assert second.power is None and second.temp is None and second.util == 50.0
    assert fake.calls[("power_mw", 1)] == 1 and fake.calls[("temp", 1)] == 1
    assert fake.calls[("power_mw", 0)] == 3


def test_transient_error_keeps_the_field() -> None:
    source, fake = open_source([{"util_gpu": pynvml.NVMLError_Unknown}])
    source.sample()
    source.sample()
    assert fake.calls[("util_gpu", 0)] == 2


def test_old_driver_fallbacks_for_temperature_and_memory() -> None:
    source, fake = open_source(
        [{"temperature_v": False, "memory_v2": False, "mem_used": 10 * GIB, "mem_reserved": GIB}]
    )
    (sample,) = source.sample()
    assert sample.temp == 55.0
    assert sample.mem_used == 11 * GIB  # v1 counts reserved memory as used: the best there is
    source.sample()
    assert (
        fake.calls[("temperature_v", 0)] == 1 and fake.calls[("memory_v2", 0)] == 1
    )  # not retried


def test_memory_v2_excludes_reserved_memory() -> None:
    source, _ = open_source([{"mem_used": 10 * GIB, "mem_reserved": GIB}])
    (sample,) = source.sample()
    assert sample.mem_used == 10 * GIB


def test_lost_gpu_is_skipped_and_others_go_on() -> None:
    source, fake = open_source([{"util_gpu": pynvml.NVMLError_GpuIsLost}, {"util_gpu": 80}])
    for _ in range(3):
        lost, alive = source.sample()
        assert lost.lost and not alive.lost and alive.util == 80.0
    assert fake.calls[("util_gpu", 0)] == 1
    assert set(gpu_values(source.sample())) == {
        k for k in gpu_values(source.sample()) if k.startswith("sys/gpu/1/")
    }


@pytest.mark.parametrize(
    "error, reason",
    [
        (pynvml.NVMLError_LibraryNotFound, "NVML Shared Library Not Found"),
        (pynvml.NVMLError_DriverNotLoaded, "Driver Not Loaded"),
    ],
)
def test_no_driver_is_unavailable_with_a_reason(error: type[Exception], reason: str) -> None:
    with pytest.raises(GpuUnavailable, match=reason):
        NvmlGpuSource(nvml=FakeNvml([{}], init_error=error)).open()


def test_no_gpu_is_unavailable() -> None:
    with pytest.raises(GpuUnavailable, match="no GPU"):
        NvmlGpuSource(nvml=FakeNvml([])).open()


def test_no_package_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(GpuUnavailable, match="not installed"):
        import_nvml()
    sampler = SystemSampler(gpu_source=NvmlGpuSource())
    assert sampler.gpu_unavailable is not None and "not installed" in sampler.gpu_unavailable
    time.sleep(0.1)  # a CPU percentage needs an interval behind it
    assert "sys/cpu/util" in sampler.sample()


def test_real_nvml_without_a_driver() -> None:
    source = NvmlGpuSource()
    try:
        infos = source.open()
    except GpuUnavailable as exc:
        assert "NVML" in str(exc)
        return
    try:  # a machine with a GPU: it must sample without error
        assert infos and all(not s.lost for s in source.sample(with_processes=True))
    finally:
        source.close()


def test_run_memory_attribution() -> None:
    me = os.getpid()
    source, _ = open_source(
        [
            {"processes": ((me, 3 * GIB), (999_999_991, GIB))},
            {"processes": ((me, None),)},
            {"processes": ()},
        ]
    )
    values = gpu_values(source.sample(with_processes=True), run_pids={me})
    assert values["sys/gpu/0/run_mem"] == 3 * GIB
    assert "sys/gpu/1/run_mem" not in values  # NVML cannot say: unknown, not zero
    assert values["sys/gpu/2/run_mem"] == 0.0


# Sampled in a fresh interpreter: the pytest process may already have children of its own (the
# session's PostgreSQL server, started by the pg_cluster fixture, and its backends), which the
# sampler rightly counts; there the only children are the two this test starts.
HOST_SAMPLER = """
import json, subprocess, sys, time
from pathlib import Path
import psutil
from tracker.system.host import HostSampler


def children_cpu_seconds(children):
    return sum(sum(psutil.Process(c.pid).cpu_times()[:2]) for c in children)


busy = "import time\\nend = time.time() + 30\\nwhile time.time() < end: pass"
children = [subprocess.Popen([sys.executable, "-c", busy]) for _ in range(2)]
try:
    sampler = HostSampler(disk_path=Path.cwd(), slow_every_s=0.0)
    time.sleep(0.1)
    used_before, started = children_cpu_seconds(children), time.monotonic()
    first = sampler.sample()
    time.sleep(0.5)  # the interval a CPU percentage is measured over
    second = sampler.sample()
    used = children_cpu_seconds(children) - used_before
    children_percent = 100 * used / (time.monotonic() - started)
finally:
    for child in children:
        child.kill()
        child.wait()
print(json.dumps({"first": first, "second": second, "children_percent": children_percent}))
"""


def test_host_sampler_reads_the_process_tree() -> None:
    result = json.loads(run_python(HOST_SAMPLER).stdout.strip().splitlines()[-1])
    first, second = result["first"], result["second"]
    children_percent = result["children_percent"]
    assert 0 <= first["sys/cpu/util"] <= 100 and first["sys/mem/total"] > 0
    assert first["sys/mem/used"] + first["sys/mem/available"] == pytest.approx(
        first["sys/mem/total"], rel=0.2
    )
    assert "sys/disk/read_bps" not in first  # a rate needs two samples
    assert first["sys/disk/total"] > 0 and 0 <= first["sys/disk/util"] <= 100
    assert second["sys/disk/read_bps"] >= 0 and second["sys/net/recv_bps"] >= 0
    assert second["sys/proc/children"] == 2 and second["sys/proc/children_rss"] > 0
    # what the two spinning children used counts (how much they got depends on the load)
    assert children_percent > 5, children_percent
    assert second["sys/proc/cpu"] >= 0.7 * children_percent, (second, children_percent)
    assert second["sys/mem/total"] == first["sys/mem/total"]


def test_descendants_include_grandchildren() -> None:
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 10
        found: list[int] = []
        while time.time() < deadline and len(found) < 2:
            found = descendants(os.getpid())
            time.sleep(0.05)
        assert child.pid in found and len(found) >= 2
    finally:
        for pid in descendants(child.pid):
            os.kill(pid, 9)
        child.kill()
        child.wait()


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_takes_the_tightest_limit_up_the_tree(tmp_path: Path) -> None:
    write(tmp_path, "proc/self/cgroup", "0::/slurm/job_7/step_0/task_0\n")
    write(
        tmp_path,
        "proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n",
    )
    base = "sys/fs/cgroup/slurm"
    write(tmp_path, f"{base}/job_7/memory.max", str(8 * GIB))
    write(tmp_path, f"{base}/job_7/memory.current", str(2 * GIB))
    write(tmp_path, f"{base}/job_7/step_0/task_0/memory.max", "max")
    write(tmp_path, f"{base}/job_7/cpu.max", "400000 100000")
    write(tmp_path, f"{base}/job_7/cpu.stat", "usage_usec 1000000\n")
    limits = detect(tmp_path)
    assert limits is not None and limits.version == 2
    assert (limits.memory_limit, limits.cpu_limit) == (8 * GIB, 4.0)
    sampler = CgroupSampler(tmp_path)
    values = sampler.sample()
    assert values["sys/cgroup/mem/util"] == 25.0 and values["sys/cgroup/cpu/limit"] == 4.0
    write(tmp_path, f"{base}/job_7/cpu.stat", "usage_usec 1100000\n")  # 0.1 s of CPU
    time.sleep(0.25)
    assert 0 < sampler.sample()["sys/cgroup/cpu/util"] <= 100


def test_cgroup_v1_limits(tmp_path: Path) -> None:
    write(tmp_path, "proc/self/cgroup", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n")
    write(tmp_path, "proc/self/mountinfo", "\n".join([
        "40 30 0:35 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
        "41 30 0:36 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
    ]) + "\n")  # fmt: skip
    write(tmp_path, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", str(4 * GIB))
    write(tmp_path, "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", str(GIB))
    write(tmp_path, "sys/fs/cgroup/memory/memory.limit_in_bytes", str(2**63 - 4096))  # unlimited
    write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000")
    write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000")
    write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpuacct.usage", "5000000000")
    limits = detect(tmp_path)
    assert limits is not None and (limits.version, limits.memory_limit, limits.cpu_limit) == (
        1,
        4 * GIB,
        1.5,
    )
    assert CgroupSampler(tmp_path).sample()["sys/cgroup/mem/used"] == GIB


def test_no_cgroup_limits(tmp_path: Path) -> None:
    write(tmp_path, "proc/self/cgroup", "0::/user.slice\n")
    write(tmp_path, "proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    write(tmp_path, "sys/fs/cgroup/user.slice/memory.max", "max")
    assert detect(tmp_path) is None
    assert CgroupSampler(tmp_path).sample() == {}
    assert detect(tmp_path / "nothing") is None


def test_sizes_and_limits_are_logged_only_when_they_change() -> None:
    fake = FakeNvml([{}])
    sampler = SystemSampler(gpu_source=NvmlGpuSource(nvml=fake))
    first = sampler.sample()
    time.sleep(0.1)
    second = sampler.sample()
    for key in ("sys/mem/total", "sys/cpu/count", "sys/gpu/0/mem_total", "sys/gpu/0/power_limit"):
        assert key in first and key not in second, key
    assert "sys/gpu/0/mem_used" in second and "sys/cpu/util" in second
    fake.devices[0]["power_limit_mw"] = 500_000  # a limit changed: logged again
    assert sampler.sample()["sys/gpu/0/power_limit"] == 500.0


def test_every_key_has_a_registry_entry() -> None:
    sampler = SystemSampler(
        gpu_source=NvmlGpuSource(nvml=FakeNvml([{"processes": ((os.getpid(), GIB),)}] * 2)),
        per_core=True,
        slow_every_s=0,
    )
    time.sleep(0.1)
    sampler.sample()
    keys = set(sampler.sample()) | {
        f"sys/cgroup/{k}" for k in ("mem/used", "mem/limit", "mem/util", "cpu/limit", "cpu/util")
    }
    missing = [k for k in keys if describe(k) is None]
    assert not missing
    info = describe("sys/gpu/3/mem_used")
    assert info is not None and (info.unit, info.title, info.total_key) == (
        "B",
        "GPU 3 memory used",
        "sys/gpu/3/mem_total",
    )
    assert describe("loss") is None


def test_runs_record_system_metrics_with_simulated_gpus(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKTUI_FAKE_GPUS", "2")
    run = tracker.init(db=db_path, quiet=True, system_metrics=True, system_interval=0.2)
    sampler = run._sampler
    assert sampler is not None
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)})
        if step == 4:  # training goes on while the sampler logs twice
            wait_for(lambda: sampler.samples >= 2, what="two system samples")
    run.finish()
    capsys.readouterr()
    assert main(["ls", "--db", str(db_path), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)[0]["metrics"]
    for key in (
        "sys/cpu/util",
        "sys/mem/util",
        "sys/proc/rss",
        "sys/gpu/0/util",
        "sys/gpu/1/mem_used",
        "sys/gpu/1/power",
    ):
        assert metrics[key]["count"] >= 1, key
    assert 0 <= metrics["sys/gpu/0/util"]["last"] <= 100
    assert metrics["sys/cpu/util"]["step"] <= 9  # stamped with the run's current step


def test_no_gpu_is_said_once_and_nothing_breaks(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    probe = NvmlGpuSource()
    try:
        probe.open()
    except GpuUnavailable:
        pass
    else:
        probe.close()
        pytest.skip("this machine has an NVIDIA driver: there is no 'no GPU' line to check")
    for _ in range(2):
        run = tracker.init(db=db_path, quiet=True, system_metrics=True, system_interval=0.1)
        sampler = run._sampler
        assert sampler is not None
        # the sampler tried NVML (and said why there is no GPU) before its first sample
        wait_for(lambda: sampler.samples >= 2, what="two system samples")  # noqa: B023
        run.log({"loss": 1.0})
        run.finish()
    assert capfd.readouterr().err.count("no GPU metrics: NVML cannot start") == 1


def test_procfs_readers_agree_with_psutil() -> None:
    import psutil

    from tracker.system import procfs

    seconds, rss, threads = procfs.process_stat(os.getpid()) or (0.0, 0, 0)
    me = psutil.Process()
    assert abs(rss - me.memory_info().rss) < 16 * 1024**2
    assert threads == me.num_threads()
    times = me.cpu_times()
    assert abs(seconds - (times.user + times.system)) < 0.1
    busy, total = procfs.cpu_busy_total() or (0, 0)
    assert 0 < busy < total
    assert procfs.process_stat(999_999_991) is None
    assert procfs.disk_bytes() is not None and procfs.net_bytes() is not None


def test_psutil_fallback_without_procfs() -> None:
    sampler = HostSampler(slow_every_s=0.0)
    sampler._procfs = False  # as on macOS
    sampler.sample()
    time.sleep(0.1)
    values = sampler.sample()
    for key in (
        "sys/cpu/util",
        "sys/proc/cpu",
        "sys/proc/rss",
        "sys/proc/threads",
        "sys/disk/read_bps",
        "sys/net/recv_bps",
    ):
        assert key in values, key
