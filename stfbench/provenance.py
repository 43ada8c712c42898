"""Provenance recorded with every result: versions, git commit, command line, device, seed, time."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from stfbench import __version__

LIBRARIES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "librosa", "av", "dlib-bin", "pytorch-fid")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries whose behaviour can move a metric."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def git_commit() -> str | None:
    """The source checkout's commit (with `-dirty` when modified), or None outside a checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def base_provenance(device: str | None = None, seed: int | None = None) -> dict[str, Any]:
    """The fields every manifest/summary carries."""
    return {
        "stfbench_version": __version__,
        "git_commit": git_commit(),
        "command": sys.argv,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": library_versions(),
        "device": device,
        "seed": seed,
        "time": now_iso(),
    }
