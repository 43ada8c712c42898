"""`ScoreRun`: existing clip pairs scored into an output folder (what `stfbench score` writes).

Pairs are decoded (in the engine's workers, `stfbench.runner.engine`) and scored in order; the folder holds
`clips.jsonl`, `state.json` (for `--resume`), `settings.json` (what a resume must match, and each start) and
`summary.json` (schema `stfbench.score/1`, see `stfbench/cli/score.py`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stfbench.errors import DecodeError, MetricError, StfbenchError
from stfbench.metrics.base import MismatchError, ScoringSample
from stfbench.runner.engine import ClipSource, Engine, gt_cache, one_line
from stfbench.runner.lock import OutputError, RunLock
from stfbench.runner.store import RunStore, read_json, write_json

#: The settings a `--resume` must match (written when a score run starts), and
#: under `STARTS` each start's time, command and device (recorded, not matched).
SETTINGS = "settings.json"
STARTS = "starts"


class MissingOutputError(StfbenchError):
    """A ground-truth clip has no generated counterpart."""

    status = "missing-output"


class ScoreRun:
    """Scores clip pairs in protocol order with `workers` decoding them, saving statistics then the record after
    each (resumable). A record's `seconds` is the clip's decoding and scoring time plus an equal share of its
    group's precompute time (LSE)."""

    def __init__(
        self,
        out: Path,
        metrics: list,
        pairs: list,
        names: list[str],
        *,
        trim=False,
        resample=False,
        resume=False,
        overwrite=False,
        settings: dict[str, Any] | None = None,
        lock=None,
        show_progress: bool = True,
        workers: int = 1,
        use_gt_cache: bool = True,
        per_frame: bool = False,
    ) -> None:
        self.show_progress = show_progress
        self.lock = (lock or RunLock(out)).acquire()  # re-entrant; released by run(), by the OS if the process dies
        try:
            self._open(out, metrics, pairs, names, trim, resample, resume, overwrite, settings or {}, workers)
            self.engine.use_gt_cache(gt_cache(use_gt_cache))
            self.engine.per_frame = per_frame
        except BaseException:
            self.lock.release()
            raise

    def _open(self, out, metrics, pairs, names, trim, resample, resume, overwrite, settings, workers) -> None:
        """Check the folder (under its lock) and restore a previous run when resuming."""
        self.store = RunStore(out)
        self.metrics = metrics
        self.pairs = pairs
        self.source = _PairSource(names, trim, resample)
        self.engine = Engine(self.store, metrics, workers)
        self.provenance: dict[str, Any] = {}
        records_file = Path(out) / "clips.jsonl"
        if records_file.exists() and not (resume or overwrite):
            raise StfbenchError("already holds a score run: pass --resume to continue or --overwrite", out)
        if overwrite:
            for name in ("clips.jsonl", "summary.json", SETTINGS):
                (Path(out) / name).unlink(missing_ok=True)
            self.store.clear_state()
            self.store.clear_per_frame()
        settings_file = Path(out) / SETTINGS
        self.settings, self.starts = settings, []
        if resume and settings_file.exists():
            previous = read_json(settings_file)
            self.starts = previous.pop(STARTS, [])
            for key in sorted(set(previous) | set(settings)):
                if _jsonable(previous.get(key)) != _jsonable(settings.get(key)):
                    raise StfbenchError(
                        f"cannot resume: {key} differs from the score run in this folder "
                        f"({previous.get(key)!r} vs {settings.get(key)!r})",
                        out,
                    )
        self.done = self.engine.restore([p.key for p in pairs]) if resume else set()
        write_json(settings_file, _jsonable({**settings, STARTS: self.starts}))

    def run(self) -> dict[str, Any]:
        """Score every clip not yet recorded, then write the summary; releases the folder's lock."""
        from stfbench.provenance import now_iso

        try:  # each start (its device may differ from an earlier part's) is recorded
            start = {"time": now_iso(), "command": sys.argv, "device": self.provenance.get("device")}
            self.starts = [*self.starts, start]
            write_json(self.store.root / SETTINGS, _jsonable({**self.settings, STARTS: self.starts}))
            self._score_all()
            return self.finish()
        except OSError as error:
            raise OutputError.from_os(error, self.store.root) from error
        finally:
            self.lock.release()

    def _score_all(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        from stfbench.console import Progress

        todo = [(i, p) for i, p in enumerate(self.pairs) if p.key not in self.done]
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True, disable=not self.show_progress) as progress:  # fmt: skip
            task = progress.add_task("scoring", total=len(todo))
            self.engine.score(todo, self.source, lambda record: progress.advance(task))

    def finish(self) -> dict[str, Any]:
        from stfbench import provenance
        from stfbench.runner.summary import summarize

        records = self.store.read_records()
        dataset: dict[str, float] = {}
        for metric in self.metrics:
            dataset.update(metric.compute())
        count_keys = {key: text for metric in self.metrics for key, text in metric.count_keys.items()}
        summary = summarize(records, dataset, len(self.pairs), seed=0, count_keys=count_keys)
        summary["schema"] = "stfbench.score/1"
        summary.update({key: _json_float(value) for key, value in dataset.items()})
        summary["metric_names"] = {key: m.name for m in self.metrics for key in m.keys}
        for name in self.provenance.get("unavailable", {}):  # e.g. FID on the synthetic protocol without Inception
            summary[name] = None
            summary["metric_names"][name] = f"{name} (n/a: weights missing)"
        summary["metric_settings"] = {m.name: m.settings() for m in self.metrics}
        summary["provenance"] = {
            **provenance.base_provenance(self.provenance.get("device")),
            **self.provenance,
            "gt_cache": self.engine.gt_cache_record(),
            STARTS: self.starts,
        }
        self.store.write_summary(_jsonable(summary))
        return summary


class _PairSource(ClipSource):
    """Clip pairs: nothing to do in the main process; the job decodes and pairs the clips (`load_pair`)."""

    def __init__(self, names: list[str], trim: bool, resample: bool) -> None:
        self.names = names
        self.trim = trim
        self.resample = resample

    def key(self, pair: Any) -> str:
        return pair.key

    def record(self, index: int, pair: Any) -> dict[str, Any]:
        return {"clip_id": pair.key, "index": index, "pred": _str(pair.pred), "gt": _str(pair.gt)}

    def produce(self, pair: Any) -> _Decode:
        return _Decode(pair, self.names, self.trim, self.resample)

    def failure(self, pair: Any, error: Exception) -> StfbenchError:
        where = pair.pred if pair.pred is not None else pair.gt
        return DecodeError(f"{type(error).__name__}: {one_line(error)}", where)  # a decoder crash on one clip

    def metric_failure(self, pair: Any, metric: Any, error: Exception) -> StfbenchError:
        return MetricError(f"{type(error).__name__}: {one_line(error)}", pair.pred)


@dataclass(frozen=True)
class _Decode:
    """A pair's job (picklable): `load_pair`."""

    pair: Any
    names: list[str]
    trim: bool
    resample: bool

    def __call__(self) -> ScoringSample:
        return load_pair(self.pair, self.names, self.trim, self.resample)


def load_pair(pair: Any, names: list[str], trim: bool, resample: bool) -> ScoringSample:
    """Decode and pair one clip → ScoringSample (raises the clip's StfbenchError)."""
    from stfbench.media import read_clip

    if pair.pred is None:
        raise MissingOutputError("no generated clip for this ground-truth clip", pair.gt)
    clip = read_clip(pair.pred, pair.audio, resample=resample, require_audio="lse" in names)
    frames = clip.frames
    gt_frames = None
    if any(n != "lse" for n in names):
        if pair.gt is None:
            raise MismatchError("no ground-truth clip pairs with it", pair.pred)
        gt_frames = read_clip(pair.gt, resample=resample, require_audio=False).frames
        if gt_frames.shape[1:] != frames.shape[1:]:
            raise MismatchError(
                f"frame size {frames.shape[1:3]} differs from ground truth {gt_frames.shape[1:3]}", pair.pred
            )
        if len(gt_frames) != len(frames):
            if not trim:
                hint = " or --pairing images to pair image files by name" if Path(pair.pred).is_dir() else ""
                raise MismatchError(
                    f"{len(frames)} frames, ground truth has {len(gt_frames)} (pass --trim{hint})", pair.pred
                )
            length = min(len(frames), len(gt_frames))
            frames, gt_frames = frames[:length], gt_frames[:length]
    return ScoringSample(pair.key, frames, gt_frames, frames, clip.audio, clip.fps, clip.sample_rate)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _json_float(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj
