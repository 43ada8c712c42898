"""SHA-256 helpers: files, canonical id lists and JSON-able objects."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_ids_sha256(ids: Iterable[str]) -> str:
    """SHA-256 of the ids sorted by byte order, one per line, each ending in a newline (UTF-8)."""
    ordered = sorted(ids, key=lambda s: s.encode("utf-8"))
    return sha256_bytes("".join(f"{i}\n" for i in ordered).encode("utf-8"))


def sha256_json(obj: Any) -> str:
    """SHA-256 of a JSON-able object serialised with sorted keys and no whitespace."""
    return sha256_bytes(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8"))
