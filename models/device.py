"""The one place that decides CPU or GPU, the dtype and the CPU threads; adapters take its answer.

Defaults are the fast ones for the machine at hand, the same for every command so that their
caches (keyed by the dtype through the scorer's identity) are shared:
- threads: the cores this process may use (CPU affinity and the cgroup CPU quota) that other
  processes leave idle when it starts (never below 1): a torch thread on a core another job holds
  waits for it at every step, so on a busy 2-core machine 2 threads made the scorer 6-15x slower
  than 1. Scores do not depend on it (bfloat16: the same bits; float32: within ~1e-5; tests/test_score.py);
- dtype `auto`: float16 on a GPU; on CPU bfloat16 where the CPU multiplies it natively
  (AVX512-BF16 or AMX: faster than float32, and as accurate for ranking: on the 165 bundled facts
  with the manual templates and SmolLM2, P@1 50.9 in both, the same top prediction for 163 facts,
  log-probs 0.16 apart on average; scripts/check_bf16.py), float32 elsewhere.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field

DTYPES = ("auto", "fast", "float32", "bfloat16", "float16")  # `fast` is the old name of `auto`
DTYPE_HELP = ("auto (float16 on a GPU; bfloat16 on a CPU that multiplies it natively, AVX512-BF16/AMX, "
              "else float32), float32, bfloat16, float16")
THREADS_HELP = ("CPU threads for torch (default: the cores this process may use that other processes "
                "leave idle at start, at least 1); scores do not depend on it")
NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}  # x86 flags in /proc/cpuinfo; aarch64 says `bf16`

# The options every torch backend shares, as field types (each backend's `Options` gives the default):
# the device's kind is part of a backend's identity, its index is not; the thread count never is.
Device = Annotated[str, Field(description="cpu, cuda, cuda:1, mps or auto (a GPU when there is one)",
                              json_schema_extra={"identity": "kind"})]
Dtype = Annotated[str, Field(description=DTYPE_HELP)]
Threads = Annotated[int | None, Field(ge=1, description=THREADS_HELP, json_schema_extra={"identity": False})]


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    dtype: object  # a torch.dtype


def available_cores() -> int:
    """CPU cores this process may use: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_cpu_quota() -> int | None:
    """ceil(quota / period) from cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`; None when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota <= 0 else math.ceil(quota / period)
    except (OSError, ValueError):
        return None


def busy_cores(seconds: float = 0.15, sample=None) -> float:
    """Cores of this process's CPU set that others keep busy: their non-idle share of /proc/stat's
    time over `seconds` (this process sleeps meanwhile), summed; 0 where it cannot be read.
    `sample()` returns {cpu: (busy, total)} jiffies (tests pass their own)."""
    import time

    sample = sample or _cpu_jiffies
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        cpus = None
    before = sample()
    time.sleep(seconds)
    after = sample()
    busy = 0.0
    for cpu, (b1, t1) in after.items():
        if cpu in before and (cpus is None or cpu in cpus) and t1 > before[cpu][1]:
            busy += (b1 - before[cpu][0]) / (t1 - before[cpu][1])
    return busy


def _cpu_jiffies() -> dict[int, tuple[int, int]]:
    """{cpu: (busy, total)} jiffies from /proc/stat's `cpuN` lines (idle and iowait are not busy)."""
    out = {}
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(f) for f in fields[:8]]
            out[int(name[3:])] = (sum(ticks) - ticks[3] - ticks[4], sum(ticks))
    return out


@lru_cache(maxsize=1)
def default_threads(busy: float | None = None) -> int:
    """The threads a backend uses unless told: the available cores that others leave idle, at least 1,
    measured once per process (`busy`: cores others keep busy, measured when None)."""
    cores = available_cores()
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or cores
    busy = busy_cores() if busy is None else busy
    return max(1, min(cores, cpus - int(busy + 0.5)))


def use_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to `threads`, else to default_threads(); returns the number.
    Every torch backend calls this, so `--threads` means the same everywhere."""
    import torch

    n = int(threads) if threads else default_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


@lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively. oneDNN's own check also says yes on AVX512
    CPUs without BF16 instructions (where bfloat16 is emulated and slower than float32), so the
    CPU's flags decide where they can be read."""
    import torch

    try:
        onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        onednn = False
    flags = _cpu_flags()
    if flags is None:  # not Linux: trust oneDNN
        return onednn
    return onednn and bool(flags & (NATIVE_BF16_FLAGS | {"bf16"}))


def _cpu_flags() -> set[str] | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def resolve_dtype(name: str, device: str = "cpu"):
    """A torch dtype from its name; `auto` (alias `fast`) is float16 on a GPU, bfloat16 on a CPU that
    multiplies it natively, float32 on other CPUs."""
    import torch

    if name in ("auto", "fast"):
        if device == "cpu":
            return torch.bfloat16 if native_bf16() else torch.float32
        return torch.float16
    try:
        dtype = getattr(torch, name)
    except AttributeError:
        dtype = None
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"unknown dtype {name!r}; use {', '.join(DTYPES)}")
    return dtype


def pick_device(preference: str, dtype: str, model=None) -> DeviceChoice:
    """`auto` takes CUDA when available, else MPS, else CPU; an explicit device is honoured.
    `dtype` names the dtype (see resolve_dtype); a `model` the caller built itself keeps its own
    dtype under `auto` (casting it would change their object). The backend's options say both."""
    import torch

    if dtype in ("auto", "fast") and (own := _model_dtype(model)) is not None:
        dtype = str(own).removeprefix("torch.")

    if preference == "auto":
        if torch.cuda.is_available():
            preference = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            preference = "mps"
        else:
            preference = "cpu"
    return DeviceChoice(preference, resolve_dtype(dtype, preference))


def _model_dtype(model):
    """A torch model's dtype (transformers models say it; a plain module's first parameter tells)."""
    import torch

    if model is None:
        return None
    dtype = getattr(model, "dtype", None)
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return next(model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return None
