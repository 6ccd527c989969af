"""Fast defaults in one place: all available cores, bfloat16 only where the CPU has it natively."""

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
    assert dev.pick_device("cpu", half=False).dtype == torch.float32
    assert dev.resolve_dtype("float32") == torch.float32
    with pytest.raises(ValueError, match="unknown dtype"):
        dev.resolve_dtype("int8")


def test_a_model_built_by_the_caller_keeps_its_dtype(flags):
    flags({"avx512_bf16"})
    model = torch.nn.Linear(2, 2)
    assert dev.pick_device("cpu", model=model).dtype == torch.float32
    assert dev.pick_device("cpu").dtype == torch.bfloat16
    assert dev.pick_device("cpu", dtype="bfloat16", model=model).dtype == torch.bfloat16  # told: honoured


def test_threads_default_to_every_available_core(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert dev.available_cores() <= len(os.sched_getaffinity(0))
        assert dev.use_threads() == dev.available_cores() == torch.get_num_threads()
        assert dev.use_threads(1) == 1 == torch.get_num_threads()
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
        monkeypatch.setattr(dev, "_cgroup_cpu_quota", lambda: 3)  # a container limited to 3 CPUs
        assert dev.available_cores() == 3
        monkeypatch.setattr(dev, "_cgroup_cpu_quota", lambda: None)
        assert dev.available_cores() == 8
    finally:
        torch.set_num_threads(before)
