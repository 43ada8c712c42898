"""Ground-truth cache: model-independent ground-truth quantities, computed once and reused by every run.

An entry holds what one metric computed from one clip's ground-truth frames (LMD: the 68 landmarks of each
frame; FID: the Inception features of the sampled frames), so a second model scored on the same protocol
pays only for its own frames. It is found by two keys:

- the *namespace*: SHA-256 of everything the quantity depends on besides the frames (the metric, its
  settings, the weight files' SHA-256, library versions, the device type); changing any of them starts a
  new namespace, so an old entry is never read under new settings;
- the *content*: SHA-256 of the exact frames given to the network (dtype, shape and bytes).

Entries are `.npz` files (`allow_pickle=False`) under `<root>/<metric>/<namespace>/`, written to a unique
temporary name and renamed, so concurrent runs and worker processes share the cache safely; an unreadable
entry is a miss and is rewritten. The runner keeps the cache at `$STFBENCH_CACHE/gt` (`stfbench cache info`
lists it, `stfbench cache clear` empties it).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def content_key(frames: np.ndarray) -> str:
    """SHA-256 (hex) of an array's dtype, shape and bytes."""
    digest = hashlib.sha256(f"{frames.dtype.str}{frames.shape}".encode())
    digest.update(np.ascontiguousarray(frames).data)
    return digest.hexdigest()


def namespace_key(identity: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of `identity` as canonical JSON."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GTCache:
    """The cache folder (picklable: worker processes read and write it too)."""

    root: Path

    def folder(self, metric: str, namespace: str) -> Path:
        return self.root / metric / namespace

    def load(self, metric: str, namespace: str, content: str) -> dict[str, np.ndarray] | None:
        """The entry's arrays, or None when it is missing or unreadable."""
        path = self.folder(metric, namespace) / f"{content}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
            return None

    def save(self, metric: str, namespace: str, content: str, identity: dict[str, Any], **arrays: np.ndarray) -> None:
        """Write an entry atomically (and the namespace's `identity.json` once). A disk that refuses the
        write only costs the reuse: the run goes on, with one warning per process."""
        folder = self.folder(metric, namespace)
        temporary = folder / f".{content}.{os.getpid()}.tmp.npz"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            described = folder / "identity.json"
            if not described.exists():
                _write_atomic(described, json.dumps(identity, sort_keys=True, indent=1, default=str).encode())
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(temporary, folder / f"{content}.npz")
        except OSError as error:
            temporary.unlink(missing_ok=True)
            _warn_once(f"ground-truth cache not written in {folder}: {error.strerror or error}")


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def folder_summary(root: Path) -> list[dict[str, Any]]:
    """One row per namespace under `root`: metric, namespace, entries, bytes and its identity."""
    rows = []
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        entries = [p for p in folder.glob("*.npz") if not p.name.startswith(".")]
        try:
            identity = json.loads((folder / "identity.json").read_text())
        except (OSError, ValueError):
            identity = {}
        rows.append(
            {
                "metric": folder.parent.name,
                "namespace": folder.name,
                "entries": len(entries),
                "bytes": sum(p.stat().st_size for p in entries),
                "identity": identity,
            }
        )
    return rows
