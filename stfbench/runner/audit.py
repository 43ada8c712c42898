"""`run_audit`: the metric-stability audit. Each protocol clip's lossless ground truth and its re-encoded variants
(`stfbench.media.variants`) are scored, as the prediction, against the lossless ground truth with the protocol's
metrics, through the scoring engine `run` and `score` share (`stfbench.runner.engine`); one engine and one run
store per variant, under `OUT/variants/<name>/`.

What a variant's number is, per metric and clip:
- paired metrics (PSNR, SSIM, LMD) and FID: the variant's value against the ground truth (the lossless one is the
  ideal: ∞ dB, 1, 0);
- no-reference metrics (LSE-C, LSE-D, AV offset): the shift m(variant) − m(lossless) of the same clip.
Table cells are the mean over clips with a 95 % percentile-bootstrap CI (`bootstrap_ci`, as run summaries);
FID has one value per variant and no CI. Audio variants keep the frames, so only the no-reference metrics are
scored for them (the paired ones are exactly ideal by construction).

The samples are built as `run` builds them for the `ground-truth` control, but from the variant: whole frames
decoded from the prepared clip's source video (LSE), face crops cut from them at the prepared boxes (paired
metrics), every frame compared, the prepared clip's audio.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stfbench.errors import DecodeError, MetricError, StfbenchError
from stfbench.media.variants import Variant, apply
from stfbench.metrics.base import ScoringSample
from stfbench.runner.engine import ClipSource, Engine, gt_cache, one_line
from stfbench.runner.store import RunStore, write_atomic
from stfbench.runner.summary import bootstrap_ci, summarize

SCHEMA = "stfbench.audit/1"
#: Metric keys reported as the variant's value against the ground truth (the rest: shift from lossless).
VALUE_KEYS = frozenset({"psnr", "ssim", "lmd", "lpips", "fid"})
#: Metrics that compare frames with the ground truth: not scored for audio variants (frames untouched).
FRAME_METRICS = frozenset({"psnr", "ssim", "lmd", "lpips", "fid"})
#: Files of an audit folder (besides `variants/`), removed by `--overwrite`.
OUTPUTS = ("clips.jsonl", "summary.json", "table.md", "table.tex", "table.csv", "table.json", "audit.png")


class EncodeError(StfbenchError):
    """A variant could not be encoded or decoded for a clip."""

    status = "encode-error"


@dataclass
class AuditConfig:
    """What an audit runs: the variants (lossless first), metric names, and how."""

    out: Path
    variants: list[Variant]
    seed: int = 0
    workers: int = 0
    overwrite: bool = False
    show_progress: bool = True
    use_gt_cache: bool = True


def run_audit(config: AuditConfig, protocol: Any, metrics: list, clips: Any, items: list) -> dict[str, Any]:
    """Score every (variant, clip) and write the audit folder; returns the summary (without provenance, which the
    caller adds before `write_outputs`). `metrics` are built metric objects, `clips` a `ProtocolClips`."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from stfbench.console import Progress

    clear(config.out, config.overwrite)
    variants = {}
    cache = gt_cache(config.use_gt_cache)
    todo = list(enumerate(items))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), disable=not config.show_progress) as progress:  # fmt: skip
        for variant in config.variants:
            chosen = [m for m in metrics if variant.kind != "audio" or not set(m.keys) & FRAME_METRICS]
            for metric in chosen:
                metric.reset()
            store = RunStore(config.out / "variants" / variant.name)
            store.root.mkdir(parents=True, exist_ok=True)
            engine = Engine(store, chosen, config.workers, cache)
            task = progress.add_task(variant.name, total=len(todo))
            source = _VariantSource(protocol, clips, variant)
            engine.score(todo, source, lambda record, task=task: progress.advance(task))
            records = store.read_records()
            dataset: dict[str, float] = {}
            for metric in chosen:
                dataset.update(metric.compute())
            count_keys = {key: text for metric in chosen for key, text in metric.count_keys.items()}
            summary = summarize(records, dataset, len(items), config.seed, count_keys)
            summary["variant"] = variant.name
            store.write_summary(summary)
            variants[variant.name] = (records, dataset, summary, set(count_keys))
    return combine(config, variants, metrics)


def clear(out: Path, overwrite: bool) -> None:
    """Refuse a folder that holds an audit unless `overwrite`, which removes the audit's files."""
    present = [name for name in (*OUTPUTS, "variants") if (out / name).exists()]
    if present and not overwrite:
        raise StfbenchError("already holds an audit: pass --overwrite to replace it", out)
    for name in present:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def combine(config: AuditConfig, variants: dict[str, tuple], metrics: list) -> dict[str, Any]:
    """Per-clip values and shifts → per (variant, metric key) mean and CI; writes `clips.jsonl`."""
    lossless = {r["clip_id"]: r for r in variants["lossless"][0] if r["status"] == "ok"}
    keys = [key for metric in metrics for key in metric.keys if key not in metric.count_keys]
    lines, results, counts = [], {}, {}
    for name, (records, dataset, summary, count_keys) in variants.items():
        per_key: dict[str, list[float]] = {}
        for record in sorted(records, key=lambda r: r["index"]):
            line = {"variant": name, **record, "shift": {}}
            base = lossless.get(record["clip_id"])
            for key, value in record.get("metrics", {}).items():
                if key in count_keys:
                    continue
                if key in VALUE_KEYS:
                    per_key.setdefault(key, []).append(value)
                elif base is not None and key in base["metrics"]:  # no-reference: the shift from lossless
                    line["shift"][key] = value - base["metrics"][key]
                    per_key.setdefault(key, []).append(line["shift"][key])
            lines.append(line)
        results[name] = {}
        for key in keys:
            if key in per_key:
                results[name][key] = _stats(np.array(per_key[key], np.float64), config.seed)
            elif key in dataset and key in VALUE_KEYS:  # a dataset-only value (FID): no CI
                results[name][key] = {"mean": dataset[key], "ci95": None, "n": summary["n_scored"], "n_finite": None}
        counts[name] = {k: summary[k] for k in ("n_expected", "n_recorded", "n_scored", "failures")}
        counts[name]["no_lossless"] = sum(
            r["status"] == "ok" and r["clip_id"] not in lossless for r in records
        )  # fmt: skip
    write_jsonl(config.out / "clips.jsonl", lines)
    return {
        "schema": SCHEMA,
        "measures": {key: "value" if key in VALUE_KEYS else "shift" for key in keys},
        "keys": keys,
        "order": [v.name for v in config.variants],  # table order (JSON objects are written with sorted keys)
        "variants": {v.name: v.settings() for v in config.variants},
        "results": results,
        "counts": counts,
        "seed": config.seed,
    }


def _stats(values: np.ndarray, seed: int) -> dict[str, Any]:
    """Mean of the finite values with its 95 % bootstrap CI; all infinite (PSNR of identical frames): the mean
    is that infinity."""
    finite = values[np.isfinite(values)]
    if len(finite):
        mean = float(finite.mean())
        low, high = bootstrap_ci(finite, seed)
    else:
        mean = float(values.mean()) if len(values) else math.nan
        low = high = math.nan
    return {"mean": mean, "ci95": [low, high], "n": len(values), "n_finite": len(finite)}


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> None:
    """Strict JSON lines, written atomically."""
    from stfbench.strict_json import dumps

    write_atomic(path, "".join(dumps(line, sort_keys=True) + "\n" for line in lines).encode("utf-8"))


class _VariantSource(ClipSource):
    """Protocol items as one variant: the main process loads the prepared clip; the job decodes the source video,
    applies the variant and cuts the crops (in a worker)."""

    def __init__(self, protocol: Any, clips: Any, variant: Variant) -> None:
        self.protocol = protocol
        self.clips = clips
        self.variant = variant

    def key(self, item: Any) -> str:
        return item.item_id

    def record(self, index: int, item: Any) -> dict[str, Any]:
        return {"clip_id": item.item_id, "index": index}

    def produce(self, item: Any) -> _VariantJob:
        prepared = self.clips.load(item.video_id)
        protocol = self.protocol
        return _VariantJob(item.item_id, self.clips, prepared, self.variant, protocol.crop.size, protocol.fps,
                           protocol.sample_rate)  # fmt: skip

    def failure(self, item: Any, error: Exception) -> StfbenchError:
        return EncodeError(f"{self.variant.name}: {type(error).__name__}: {one_line(error)}", item.item_id)

    def metric_failure(self, item: Any, metric: Any, error: Exception) -> StfbenchError:
        return MetricError(f"{metric.name}: {type(error).__name__}: {one_line(error)}")


@dataclass
class _VariantJob:
    """One clip's variant (picklable): source frames → variant frames and audio → sample."""

    clip_id: str
    clips: Any
    prepared: Any
    variant: Variant
    crop_size: int
    fps: float
    sample_rate: int

    def __call__(self) -> ScoringSample:
        from stfbench.datasets.faces import cut_crops

        try:
            frames = self.clips.source_frames(self.prepared)  # (T, H, W, 3) as the runner decodes them
        except StfbenchError:
            raise
        except Exception as error:
            raise DecodeError(f"{type(error).__name__}: {one_line(error)}", self.prepared.source_path) from error
        if len(frames) != len(self.prepared.crops):
            raise DecodeError(f"{len(frames)} frames, prepared {len(self.prepared.crops)}", self.prepared.source_path)
        fps, rate = self.fps, self.sample_rate
        frames, audio = apply(self.variant, frames, self.prepared.audio, fps, rate)
        crops = cut_crops(frames, self.prepared.boxes, self.crop_size)  # (T, S, S, 3) at the prepared boxes
        return ScoringSample(
            clip_id=self.clip_id,
            pred_crops=crops,
            gt_crops=self.prepared.crops,
            pred_frames=frames,
            audio=audio,
            fps=fps,
            sample_rate=rate,
        )
