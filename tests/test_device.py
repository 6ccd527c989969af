"""Fast defaults in one place: the available cores others leave idle, bfloat16 only where the CPU has it natively."""

import os

import pytest
import torch

from promptmine.models import device as dev


@pytest.fixture
def flags(monkeypatch):
    """Pretend the CPU has these flags (oneDNN says it can do bfloat16)."""
    def set_flags(values):
        dev.native_bf16.cache_clear()
        monkeypatch.setattr(dev, "_cpu_flags", lambda: values)
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    yield set_flags
    dev.native_bf16.cache_clear()


def test_auto_dtype_is_bfloat16_only_with_native_support(flags):
    flags({"avx512f", "avx512bw", "avx512_bf16"})
    assert dev.resolve_dtype("auto", "cpu") == torch.bfloat16
    assert dev.resolve_dtype("fast", "cpu") == torch.bfloat16  # the old name
    flags({"avx512f", "avx512bw"})  # oneDNN would emulate bfloat16 here: slower than float32
    assert dev.resolve_dtype("auto", "cpu") == torch.float32
    flags({"amx_bf16", "amx_tile"})
    assert dev.resolve_dtype("auto", "cpu") == torch.bfloat16
    assert dev.resolve_dtype("auto", "cuda") == torch.float16
    assert dev.pick_device("cpu", "float32").dtype == torch.float32
    assert dev.resolve_dtype("float32") == torch.float32
    with pytest.raises(ValueError, match="unknown dtype"):
        dev.resolve_dtype("int8")


def test_a_model_built_by_the_caller_keeps_its_dtype(flags):
    flags({"avx512_bf16"})
    model = torch.nn.Linear(2, 2)
    assert dev.pick_device("cpu", "auto", model=model).dtype == torch.float32
    assert dev.pick_device("cpu", "auto").dtype == torch.bfloat16
    assert dev.pick_device("cpu", dtype="bfloat16", model=model).dtype == torch.bfloat16  # told: honoured


def test_threads_default_to_every_available_core(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert dev.available_cores() <= len(os.sched_getaffinity(0))
        assert dev.use_threads(1) == 1 == torch.get_num_threads()
        assert dev.use_threads() == dev.default_threads() == torch.get_num_threads()
        assert 1 <= dev.default_threads() <= dev.available_cores()
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
        monkeypatch.setattr(dev, "_cgroup_cpu_quota", lambda: 3)  # a container limited to 3 CPUs
        assert dev.available_cores() == 3
        monkeypatch.setattr(dev, "_cgroup_cpu_quota", lambda: None)
        assert dev.available_cores() == 8
    finally:
        torch.set_num_threads(before)


def test_default_threads_leave_out_the_cores_others_keep_busy(monkeypatch):
    """On a busy machine a torch thread on a core another job holds stalls every step (the scorer ran
    6-15x slower with 2 threads than with 1 while another job held one of 2 cores)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(dev, "_cgroup_cpu_quota", lambda: None)
    assert dev.default_threads.__wrapped__(busy=0.0) == 2  # idle: every core
    assert dev.default_threads.__wrapped__(busy=0.3) == 2  # background noise
    assert dev.default_threads.__wrapped__(busy=0.9) == 1  # another job holds a core
    assert dev.default_threads.__wrapped__(busy=5.0) == 1  # never below 1
    # a container with 2 CPUs of quota on a 64-CPU host where others keep 30 busy: still 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(dev, "_cgroup_cpu_quota", lambda: 2)
    assert dev.default_threads.__wrapped__(busy=30.0) == 2


def test_busy_cores_reads_the_non_idle_share_of_this_process_cpus(monkeypatch):
    """(busy, total) jiffies per CPU before and after: CPU 0 fully busy, CPU 1 a quarter, CPU 2 busy
    but outside this process's CPU set."""
    samples = iter([{0: (100, 1000), 1: (0, 1000), 2: (0, 1000)},
                    {0: (120, 1020), 1: (5, 1020), 2: (20, 1020)}])
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert dev.busy_cores(0, sample=lambda: next(samples)) == pytest.approx(1.25)
    assert dev.busy_cores(0, sample=dict) == 0  # /proc/stat unreadable: nothing known busy
    jiffies = dev._cpu_jiffies()  # this machine's: busy <= total for every CPU
    assert all(0 <= b <= t for b, t in jiffies.values())
