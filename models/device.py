"""The one place that decides CPU or GPU and the dtype; adapters take its answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    dtype: object  # a torch.dtype

    @property
    def is_gpu(self) -> bool:
        return self.device != "cpu"


def resolve_dtype(name: str, device: str = "cpu"):
    """A torch dtype from its name; `fast` is bfloat16 where the CPU multiplies it natively
    (AVX512-BF16/AMX: several times faster than float32, log-probs within about 0.1), else the
    device's default."""
    import torch

    if name == "fast":
        if device == "cpu":
            try:
                native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
            except (AttributeError, RuntimeError):
                native = False
            return torch.bfloat16 if native else torch.float32
        return torch.float16
    try:
        dtype = getattr(torch, name)
    except AttributeError:
        dtype = None
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"unknown dtype {name!r}; use auto, fast, float32, bfloat16 or float16")
    return dtype


def pick_device(preference: str = "auto", half: bool = True, dtype: str = "auto") -> DeviceChoice:
    """`auto` takes CUDA (fp16) when available, else CPU (fp32); an explicit device is honoured.
    `dtype` other than `auto` names the dtype (see resolve_dtype)."""
    import torch

    if preference == "auto":
        if torch.cuda.is_available():
            preference = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            preference = "mps"
        else:
            preference = "cpu"
    if dtype != "auto":
        return DeviceChoice(preference, resolve_dtype(dtype, preference))
    return DeviceChoice(preference, torch.float16 if (half and preference != "cpu") else torch.float32)
