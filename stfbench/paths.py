"""Where stfbench keeps things: cache, weights and dataset roots (all overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path

DATASET_ROOT_ENV = {"lrs2": "STFBENCH_LRS2_ROOT", "lrw": "STFBENCH_LRW_ROOT"}


def cache_dir() -> Path:
    """`$STFBENCH_CACHE`, else `$XDG_CACHE_HOME/stfbench`, else `~/.cache/stfbench`."""
    if env := os.environ.get("STFBENCH_CACHE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "stfbench"


def weights_dir() -> Path:
    """`$STFBENCH_WEIGHTS`, else `<cache>/weights`: where imported weight files live."""
    if env := os.environ.get("STFBENCH_WEIGHTS"):
        return Path(env).expanduser()
    return cache_dir() / "weights"


def torch_hub_checkpoints() -> Path:
    """torch hub's checkpoint folder (`$TORCH_HOME/hub/checkpoints`), where pytorch-fid and
    face-alignment users usually already have their files."""
    torch_home = os.environ.get("TORCH_HOME") or str(Path.home() / ".cache" / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def dataset_root(dataset: str, root: str | Path | None = None) -> Path | None:
    """The root given on the command line, else the dataset's environment variable, else None."""
    if root is not None:
        return Path(root).expanduser()
    env = DATASET_ROOT_ENV.get(dataset)
    if env and os.environ.get(env):
        return Path(os.environ[env]).expanduser()
    return None


def assets_dir() -> Path:
    """Files shipped inside the package (committed synthetic-protocol checkpoints)."""
    return Path(__file__).resolve().parent / "assets"
