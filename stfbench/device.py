"""Device choice: CUDA when available, else CPU; `--device` overrides."""

from __future__ import annotations

from pathlib import Path

import torch

from stfbench.errors import StfbenchError

#: CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def resolve_device(requested: str | None = None) -> torch.device:
    """`None`/"auto" → cuda if available else cpu; otherwise the named device, checked to exist."""
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise StfbenchError(f"--device {requested}: CUDA is not available on this machine")
    return device


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether the CPU computes bfloat16 natively (AVX512_BF16 or AMX-BF16); None when it cannot be told (no
    /proc/cpuinfo). Without it, torch emulates bf16 and an autocast bf16 forward is several times slower."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[-1].split()}
    return bool(flags & BF16_FLAGS) if flags else None
