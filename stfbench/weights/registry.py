"""The weight registry: what each weight file is, where stfbench looks for it, and how it is verified.

Data lives in `registry.toml` beside this module (one table per weight id). Search order for a weight id:

1. `$STFBENCH_WEIGHT_<ID>` (a file path; e.g. `STFBENCH_WEIGHT_SYNCNET_V2=/data/syncnet_v2.model`),
2. `stfbench.paths.weights_dir() / filename` (`$STFBENCH_WEIGHTS`, else `<cache>/weights`; where
   `stfbench weights import` copies files),
3. the entry's `also_in` places: `$TORCH_HOME/hub/checkpoints` and files shipped inside Python packages,
4. `stfbench/assets/weights/` for committed checkpoints.

A found file is checked by size, then SHA-256. A mismatch raises `WeightsError` unless
`trust_unverified=True`; the returned `ResolvedWeight.verified` then says False and goes into provenance.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from stfbench import paths
from stfbench.errors import WeightsError
from stfbench.hashing import sha256_file

REGISTRY_FILE = Path(__file__).with_name("registry.toml")

#: Statuses `verify` returns.
OK, UNVERIFIED, MISSING, WRONG_SIZE, WRONG_HASH = "ok", "unverified", "missing", "wrong-size", "wrong-hash"


@dataclass(frozen=True)
class WeightEntry:
    """One weight file: identity (file name, SHA-256, size), purpose, licence and where to get it."""

    id: str
    filename: str
    sha256: str | None
    size: int | None
    purpose: str
    used_by: tuple[str, ...]
    licence: str
    source: str
    env_var: str
    committed: bool = False
    command: str | None = None
    seed: int | None = None
    also_in: tuple[str, ...] = ()

    def how_to_get(self) -> str:
        """One sentence telling the user how to provide the file."""
        if self.committed:
            return f"it ships with stfbench in stfbench/assets/weights/ (reinstall stfbench; made by: {self.command})"
        command = "stfbench weights import PATH" + ("" if self.sha256 else f" --as {self.id}")
        return f"get it from {self.source}, then run `{command}` (or set {self.env_var}=PATH)"


#: `ResolvedWeight.reason` of a file whose registry entry has no SHA-256 to compare with.
NO_PUBLISHED_DIGEST = "no published sha256 to check against"


@dataclass(frozen=True)
class ResolvedWeight:
    """A located weight file and how far it was verified."""

    id: str
    path: Path
    sha256: str
    verified: bool
    reason: str  # "sha256 matches", "no published sha256", "trusted despite: ..."

    def provenance(self) -> dict[str, object]:
        return {
            "id": self.id,
            "file": self.path.name,
            "sha256": self.sha256,
            "verified": self.verified,
            "note": self.reason,
        }


@cache
def entries() -> dict[str, WeightEntry]:
    """All registry entries by id."""
    with open(REGISTRY_FILE, "rb") as handle:
        data = tomllib.load(handle)
    found = {}
    for weight_id, row in data.items():
        found[weight_id] = WeightEntry(
            id=weight_id,
            filename=row["filename"],
            sha256=row.get("sha256"),
            size=row.get("size"),
            purpose=row["purpose"],
            used_by=tuple(row.get("used_by", ())),
            licence=row["licence"],
            source=row["source"],
            env_var=f"STFBENCH_WEIGHT_{weight_id.upper()}",
            committed=bool(row.get("committed", False)),
            command=row.get("command"),
            seed=row.get("seed"),
            also_in=tuple(row.get("also_in", ())),
        )
    return found


def entry(weight_id: str) -> WeightEntry:
    """The registry entry for `weight_id` (WeightsError for an unknown id)."""
    try:
        return entries()[weight_id]
    except KeyError:
        raise WeightsError(f"unknown weight id {weight_id!r} (known: {', '.join(sorted(entries()))})") from None


def candidate_paths(weight_id: str) -> list[Path]:
    """Every place stfbench looks for the file, in search order."""
    item = entry(weight_id)
    places: list[Path] = []
    if env := os.environ.get(item.env_var):
        places.append(Path(env).expanduser())
    places.append(paths.weights_dir() / item.filename)
    for where in item.also_in:
        if where == "torch_hub":
            places.append(paths.torch_hub_checkpoints() / item.filename)
        elif where.startswith("package:"):
            module, _, relative = where.removeprefix("package:").partition("/")
            spec = importlib.util.find_spec(module)
            if spec is not None and spec.submodule_search_locations:
                places.append(Path(next(iter(spec.submodule_search_locations))) / relative)
    if item.committed:
        places.append(paths.assets_dir() / "weights" / item.filename)
    return places


def locate(weight_id: str) -> Path | None:
    """The first existing candidate file, or None."""
    return next((p for p in candidate_paths(weight_id) if p.is_file()), None)


_hash_cache: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        _hash_cache[key] = sha256_file(path)
    return _hash_cache[key]


def _check(item: WeightEntry, path: Path) -> tuple[str, str, str]:
    """(status, sha256, reason) of a file against its entry."""
    size = path.stat().st_size
    digest = _file_sha256(path)
    if item.sha256 is not None:
        if digest == item.sha256:
            return OK, digest, "sha256 matches"
        if item.size is not None and size != item.size:
            return WRONG_SIZE, digest, f"size {size} B, expected {item.size} B (truncated or a different file?)"
        return WRONG_HASH, digest, f"sha256 {digest[:12]}…, expected {item.sha256[:12]}…"
    if item.size is not None and size != item.size:
        return WRONG_SIZE, digest, f"size {size} B, expected {item.size} B (truncated or a different file?)"
    return UNVERIFIED, digest, NO_PUBLISHED_DIGEST


def resolve_verified(weight_id: str, trust_unverified: bool = False, needed_by: str | None = None) -> ResolvedWeight:
    """Locate and verify a weight file; WeightsError naming the file, its user and how to get it."""
    item = entry(weight_id)
    user = needed_by or (", ".join(item.used_by) or "stfbench")
    path = locate(weight_id)
    if path is None:
        raise WeightsError(
            f"weight file {item.filename} ({weight_id}) is missing, needed by {user}: {item.how_to_get()}"
        )
    status, digest, reason = _check(item, path)
    if status in (OK, UNVERIFIED):
        return ResolvedWeight(weight_id, path, digest, status == OK, reason)
    if not trust_unverified:
        raise WeightsError(
            f"{reason}; refusing to use it for {user} ({weight_id}). Replace it ({item.how_to_get()}) "
            "or pass --trust-unverified to use it anyway (recorded in the results' provenance)",
            path,
        )
    return ResolvedWeight(weight_id, path, digest, False, f"trusted despite: {reason}")


def resolve(weight_id: str, trust_unverified: bool = False) -> Path:
    """Path of a verified (or, with `trust_unverified`, knowingly unverified) weight file."""
    return resolve_verified(weight_id, trust_unverified).path


def verify(weight_id: str) -> str:
    """`ok`, `unverified` (no published hash), `missing`, `wrong-size` or `wrong-hash`."""
    path = locate(weight_id)
    if path is None:
        return MISSING
    return _check(entry(weight_id), path)[0]


def import_file(path: str | Path, as_id: str | None = None) -> WeightEntry:
    """Copy a user's weight file into `paths.weights_dir()` under its registry file name.

    The entry is found by SHA-256 (size first, to avoid hashing against impossible entries); `as_id`
    names the entry explicitly for files whose entry has no published hash.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise WeightsError("file not found", source)
    size = source.stat().st_size
    digest = sha256_file(source)
    if as_id is not None:
        item = entry(as_id)
        status = _check(item, source)[0]
        if status not in (OK, UNVERIFIED):
            raise WeightsError(f"does not match {as_id} ({status}: sha256 {digest[:12]}…)", source)
    else:
        matches = [e for e in entries().values() if e.sha256 == digest]
        if not matches:
            sized = [e.id for e in entries().values() if e.size == size]
            hint = f" (same size as {', '.join(sized)}: a modified copy?)" if sized else ""
            raise WeightsError(
                f"sha256 {digest[:12]}… matches no registry entry{hint}; "
                "use --as ID for a weight whose published hash is unknown",
                source,
            )
        item = matches[0]
    target = paths.weights_dir() / item.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return item


def status_rows() -> list[dict[str, Any]]:
    """Every entry with its status and where it was found (JSON-ready; for `weights list` / `info`)."""
    rows: list[dict[str, Any]] = []
    for item in entries().values():
        where = locate(item.id)
        rows.append(
            {
                "id": item.id,
                "file": item.filename,
                "status": verify(item.id),
                "sha256": item.sha256,
                "size": item.size,
                "used_by": list(item.used_by),
                "licence": item.licence,
                "source": item.source,
                "committed": item.committed,
                "path": str(where) if where is not None else None,
            }
        )
    return rows


def status_table(detailed: bool = False):
    """A rich table of every entry with its status; `detailed` adds the short SHA-256 and the source."""
    from rich.table import Table
    from rich.text import Text

    columns = ["id", "file", "status", "sha256", "used by", "licence", "source"]
    if not detailed:
        columns = [c for c in columns if c not in ("sha256", "source")]
    table = Table(title="weights")
    for column in columns:
        table.add_column(column, overflow="fold")
    colours = {OK: "green", UNVERIFIED: "yellow", MISSING: "dim", WRONG_SIZE: "red", WRONG_HASH: "red"}
    for row in status_rows():
        cells = {
            "id": Text(row["id"]),
            "file": Text(row["file"]),
            "status": Text(row["status"], style=colours[row["status"]]),
            "sha256": Text(row["sha256"][:12] if row["sha256"] else "none published"),
            "used by": Text(", ".join(row["used_by"]) or "-"),
            "licence": Text(row["licence"]),
            "source": Text(row["source"]),
        }
        table.add_row(*(cells[c] for c in columns))
    return table
