"""Checkpoint files: atomic writes, loading with clear errors, and fp16 inference-only exports.

Training checkpoint (`last.pt`): {"format", "kind", "configs", "modules", "optimizers", "scalers",
"step", "rng", "run", ...}. Inference export: the same without optimisers, scalers and RNG states, with
only the networks inference needs, stored in float16 (loaded back as float32).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from stfbench.errors import WeightsError
from stfbench.safe_load import load_torch_file

FORMAT = "stfbench-checkpoint/1"


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temp file in the same folder, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read an stfbench checkpoint (training or export); `kind` checks what it holds."""
    return check_checkpoint(read_checkpoint_file(path), path, kind)


def read_checkpoint_file(path: str | Path) -> Any:
    """The object a torch checkpoint file holds, read weights-only (a crafted file cannot run code)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError("checkpoint not found", path)
    return load_torch_file(path, "checkpoint")


def check_checkpoint(state: Any, path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """`state` if it is an stfbench checkpoint (of `kind`, when given), else a WeightsError naming `path`."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise WeightsError(f"not an stfbench checkpoint (expected format {FORMAT})", path)
    if kind is not None and state.get("kind") != kind:
        raise WeightsError(f"holds a {state.get('kind')!r} model, expected {kind!r}", path)
    return state


def export_inference(state: dict[str, Any], modules: list[str], path: str | Path, drop: tuple[str, ...] = ()) -> None:
    """Write an fp16 inference-only copy of training checkpoint `state` keeping only `modules`, without the
    tensors whose `<module>.<key>` starts with one of `drop` (e.g. training-only encoders)."""
    half = {
        name: {
            k: v.half() if v.is_floating_point() else v
            for k, v in state["modules"][name].items()
            if not f"{name}.{k}".startswith(drop)
        }
        for name in modules
    }
    keep = {k: v for k, v in state.items() if k not in ("modules", "optimizers", "scalers", "rng")}
    atomic_torch_save({**keep, "modules": half, "inference_only": True}, path)


def module_state(state: dict[str, Any], name: str, path: str | Path) -> dict[str, torch.Tensor]:
    """A module's float32 state dict from a (maybe fp16) checkpoint."""
    if name not in state.get("modules", {}):
        raise WeightsError(f"has no {name!r} network", path)
    return {k: v.float() if v.is_floating_point() else v for k, v in state["modules"][name].items()}
