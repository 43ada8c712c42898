"""Device choice: CUDA when available, else CPU; `--device` overrides."""

from __future__ import annotations

import torch

from stfbench.errors import StfbenchError


def resolve_device(requested: str | None = None) -> torch.device:
    """`None`/"auto" → cuda if available else cpu; otherwise the named device, checked to exist."""
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise StfbenchError(f"--device {requested}: CUDA is not available on this machine")
    return device
