"""The run directory on disk: atomic JSON (+ npz) files and an append-only, fsync'd JSONL of clip records.

Layout (see docs/runner.md):
    manifest.json   what was run: versions, command, protocol id + hash, model + checkpoint SHA-256, metric
                    settings and weight SHA-256s, seed, device, shard, start/end time
    clips.jsonl     one record per finished clip (ok or failed), in completion order
    state.json      metric statistics after the last finished clip + the ids they include + that clip's record
                    (strict JSON, `state_codec` schema; arrays such as FID's sums in the `state.<token>.npz`
                    files it names: unchanged read-only arrays stay in the file an earlier save wrote). Never
                    a pickle: a folder holding an old `state.pkl` is refused, never unpickled.
    summary.json    means with 95 % bootstrap CIs, n_scored, n_expected, failures by status
    per_frame/      one strict-JSON file per scored clip (only with --per-frame): each metric's per-frame detail,
                    e.g. LSE's offset curve and per-window confidence; named by the percent-encoded clip id
    videos/         generated clips (only with --keep-videos)
    .lock           OS file lock held by the process writing the folder (`stfbench.runner.lock`)

Every JSON file is strict JSON (`stfbench.strict_json`: no NaN/Infinity literals; NaN is written as null,
+inf / -inf as the strings "inf" / "-inf", e.g. PSNR of identical frames). `read_records` and `read_summary`
turn those strings back into floats.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from stfbench.runner import state_codec
from stfbench.strict_json import dumps
from stfbench.strict_json import number as json_number

MANIFEST = "manifest.json"
RECORDS = "clips.jsonl"
STATE = "state.json"
LEGACY_STATE = "state.pkl"
SUMMARY = "summary.json"
PER_FRAME = "per_frame"
PER_FRAME_SCHEMA = "stfbench.per-frame/1"


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file in the same folder, fsync it, and rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, (dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class RunStore:
    """Reads and writes one run directory (or one shard's directory)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._stable: tuple[dict[str, np.ndarray], str] | None = None  # read-only arrays last saved, their file
        self._token = 0

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def summary_path(self) -> Path:
        return self.root / SUMMARY

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        return read_json(self.manifest_path)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(self.manifest_path, manifest)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.summary_path, summary)

    def read_summary(self) -> dict[str, Any]:
        """summary.json with its metric values as floats ("inf" → inf; null stays None)."""
        summary = read_json(self.summary_path)
        for stats in summary.get("metrics", {}).values():
            for key in ("mean", "clip_mean"):
                if key in stats:
                    stats[key] = json_number(stats[key])
            if stats.get("ci95"):
                stats["ci95"] = [json_number(v) for v in stats["ci95"]]
        return summary

    def append_record(self, record: dict[str, Any]) -> None:
        """Append one JSON line and fsync, so a finished clip survives a crash right after."""
        line = dumps(record, sort_keys=True) + "\n"
        with open(self.root / RECORDS, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def read_records(self, repair: bool = False) -> list[dict[str, Any]]:
        """All complete records. A last line cut off by a crash is ignored (and removed when `repair`)."""
        path = self.root / RECORDS
        if not path.exists():
            return []
        raw = path.read_bytes()
        complete_end = raw.rfind(b"\n") + 1
        if repair and complete_end < len(raw):
            with open(path, "r+b") as handle:
                handle.truncate(complete_end)
        records = [json.loads(line) for line in raw[:complete_end].decode("utf-8").splitlines() if line.strip()]
        for record in records:
            if isinstance(record.get("metrics"), dict):
                record["metrics"] = {k: json_number(v) for k, v in record["metrics"].items()}
        return records

    def per_frame_path(self, clip_id: str) -> Path:
        from urllib.parse import quote

        return self.root / PER_FRAME / f"{quote(clip_id, safe='')}.json"

    def write_per_frame(self, clip_id: str, details: dict[str, Any]) -> None:
        """The clip's per-frame sidecar: {schema, clip_id, metrics: {metric name: detail}}, written atomically."""
        write_json(self.per_frame_path(clip_id), {"schema": PER_FRAME_SCHEMA, "clip_id": clip_id, "metrics": details})

    def read_per_frame(self, clip_id: str) -> dict[str, Any]:
        """The clip's sidecar; a one-line error when the run has none for it."""
        from stfbench.errors import StfbenchError

        path = self.per_frame_path(clip_id)
        if not path.exists():
            hint = "it was not scored with --per-frame" if not path.parent.is_dir() else "no such clip in this run"
            raise StfbenchError(f"no per-frame file for clip {clip_id!r} ({hint})", self.root)
        document = read_json(path)
        if not isinstance(document, dict) or document.get("schema") != PER_FRAME_SCHEMA:
            raise StfbenchError(f"not a {PER_FRAME_SCHEMA} file", path)
        return document

    def save_state(self, state: dict[str, Any]) -> None:
        """Write the state atomically: fresh `state.<token>.npz` files first, then `state.json` naming them
        (renamed over the old one), then npz files no longer named are removed, so a crash at any moment leaves
        a consistent set. Read-only arrays (FID's folded sums) go to a file of their own that later saves reuse
        while they hold the very same arrays, so a large statistic that did not change is not rewritten."""
        tree, arrays = state_codec.encode(state)
        stable = {key: a for key, a in arrays.items() if isinstance(a, np.ndarray) and not a.flags.writeable}
        fresh = {key: a for key, a in arrays.items() if key not in stable}
        names = []
        if stable:
            reused = self._stable is not None and self._stable[0].keys() == stable.keys()
            reused = reused and all(self._stable[0][key] is a for key, a in stable.items())
            if not (reused and (self.root / self._stable[1]).exists()):
                self._stable = (stable, self._write_arrays(stable))
            names.append(self._stable[1])
        if fresh:
            names.append(self._write_arrays(fresh))
        write_json(self.root / STATE, {"schema": state_codec.SCHEMA, "arrays": names or None, "state": tree})
        for old in self.root.glob("state.*.npz"):
            if old.name not in names:
                old.unlink(missing_ok=True)

    def _write_arrays(self, arrays: dict[str, np.ndarray]) -> str:
        """One new `state.<token>.npz` holding `arrays`; returns its name."""
        self._token += 1
        name = f"state.{time.time_ns():x}{os.getpid():x}{self._token:x}.npz"
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_atomic(self.root / name, buffer.getvalue())
        return name

    def load_state(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none. Old pickled states are refused with one line."""
        from stfbench.errors import StfbenchError

        path = self.root / STATE
        if not path.exists():
            if (self.root / LEGACY_STATE).exists():
                raise StfbenchError(
                    f"holds {LEGACY_STATE} from an older stfbench; run state is no longer read from pickles (a "
                    "pickle can run code). Redo the run into a new folder, or pass --overwrite",
                    self.root,
                )
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise StfbenchError(f"{STATE} is not valid JSON ({error}): cannot resume", self.root) from None
        if not isinstance(document, dict) or document.get("schema") != state_codec.SCHEMA:
            raise StfbenchError(f"{STATE} is not a {state_codec.SCHEMA} file: cannot resume", self.root)
        arrays: dict[str, np.ndarray] = {}
        names = document.get("arrays") or []
        for name in [names] if isinstance(names, str) else names:  # a single name: an earlier state.json
            try:
                with np.load(self.root / Path(name).name, allow_pickle=False) as npz:
                    arrays.update({key: npz[key] for key in npz.files})
            except (OSError, ValueError) as error:
                raise StfbenchError(f"{name} is unreadable ({error}): cannot resume", self.root) from None
        return state_codec.decode(document["state"], arrays)

    def clear_per_frame(self) -> None:
        """Remove the per-frame sidecars (for --overwrite)."""
        import shutil

        shutil.rmtree(self.root / PER_FRAME, ignore_errors=True)

    def clear_state(self) -> None:
        """Remove the state files (for --overwrite)."""
        for name in (STATE, LEGACY_STATE):
            (self.root / name).unlink(missing_ok=True)
        for old in self.root.glob("state.*.npz"):
            old.unlink(missing_ok=True)
