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


def pick_device(preference: str = "auto", half: bool = True) -> DeviceChoice:
    """`auto` takes CUDA (fp16) when available, else CPU (fp32); an explicit device is honoured."""
    import torch

    if preference == "auto":
        if torch.cuda.is_available():
            preference = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            preference = "mps"
        else:
            preference = "cpu"
    dtype = torch.float16 if (half and preference != "cpu") else torch.float32
    return DeviceChoice(preference, dtype)
