"""`run_benchmark`: generate every clip of a protocol with one adapter, score it, and record it.

The clips are generated in the main process and fed to the scoring engine (`stfbench.runner.engine`, shared
with `score`), whose `workers` paste the crops back and run the metrics' clip stages. Crash safety: after
each clip the metric statistics, the ids they include and that clip's record are saved atomically
(`state.json`), then the record is appended to `clips.jsonl` (fsync'd). A run killed at any moment and
restarted with `resume=True` restores the statistics, re-appends the one record that may have been lost
between the two writes, and continues with the clips not yet recorded — nothing is redone or counted twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from stfbench.adapters.base import Generated, ModelAdapter
from stfbench.adapters.cropping import paste_crops
from stfbench.adapters.registry import load_adapter
from stfbench.console import Progress, make_console
from stfbench.device import resolve_device
from stfbench.errors import DecodeError, MetricError, ModelError, StfbenchError
from stfbench.hashing import sha256_json
from stfbench.metrics.base import ScoringSample
from stfbench.provenance import base_provenance, now_iso
from stfbench.runner.clips import ProtocolClips
from stfbench.runner.config import NOT_UNDER_SILENCE, PAIRED_METRICS, RunConfig
from stfbench.runner.engine import ClipSource, Engine, gt_cache, one_line
from stfbench.runner.lock import OutputError, RunLock, check_output_dir, raise_if_output_failure
from stfbench.runner.requests import build_request, clip_seed, paired_mask
from stfbench.runner.store import RunStore
from stfbench.runner.summary import summarize

#: builds the metric objects: (names, settings, device, trust_unverified) → list of Metric.
MetricsFactory = Callable[[Sequence[str], dict[str, Any], torch.device, bool], list]
#: Manifest fields that must match for `--resume` to continue a run.
RESUME_KEYS = (
    "protocol",
    "model_identity",
    "metric_names",
    "metric_weights",
    "seed",
    "shard",
    "keep_videos",
    "clip_ids_sha256",
)
#: Manifest fields a resume may change; each change is kept in `resume_changes` (what earlier parts ran with).
RECORDED_KEYS = ("command", "device", "model", "stfbench_version", "git_commit", "libraries", "python", "platform")


def default_metrics_factory(names: Sequence[str], settings: dict[str, Any], device: torch.device, trust: bool) -> list:
    from stfbench.metrics import build_metrics

    return list(build_metrics(list(names), settings, device, trust))


def load_protocol_or_fail(name: str) -> Any:
    from stfbench.protocols import load_protocol

    return load_protocol(name)


def run_benchmark(
    config: RunConfig,
    *,
    adapter: ModelAdapter | None = None,
    metrics_factory: MetricsFactory | None = None,
    protocol: Any = None,
    clips: Any = None,
) -> Path:
    """Run (or resume) one benchmark run or shard; returns its directory (with `summary.json`)."""
    factory = metrics_factory or default_metrics_factory
    protocol = protocol or load_protocol_or_fail(config.dataset)
    if config.lse_precision is not None:  # part of the protocol's metric settings, so of its hash (if not fp32)
        from stfbench.protocols.spec import LSE_PRECISIONS

        if config.lse_precision not in LSE_PRECISIONS:
            raise StfbenchError(f"--lse-precision {config.lse_precision}: choose {', '.join(LSE_PRECISIONS)}")
        metrics_spec = dataclasses.replace(protocol.metrics, lse_precision=config.lse_precision)
        protocol = dataclasses.replace(protocol, metrics=metrics_spec)
    metric_names = list(config.metrics or (["lipleak"] if config.audio == "silent" else protocol.metrics.names))
    if config.audio == "silent" and (refused := [n for n in metric_names if n in NOT_UNDER_SILENCE]):
        raise StfbenchError(
            f"--audio silent: {', '.join(refused)} cannot be measured under silent driving audio (the ground truth "
            "speaks; LSE of silence means nothing); use lipleak, fid or fvd"
        )
    cross = getattr(getattr(protocol, "pairing", None), "mode", None) == "cross"
    if cross and (paired := [n for n in metric_names if n in PAIRED_METRICS]):
        raise StfbenchError(
            f"protocol {protocol.id} pairs each video with another clip's audio: {', '.join(paired)} need the "
            "output's own ground truth, which cross pairing has not (use lse, fid, fvd, lipleak)"
        )
    device = resolve_device(config.device)
    adapter = adapter or load_adapter(config.model, **config.model_options)
    if metrics_factory is None and clips is None:  # a real run: report every missing prerequisite at once
        from stfbench import prerequisites

        prerequisites.require(
            prerequisites.for_run(
                protocol,
                adapter,
                config.metrics or (metric_names if config.audio == "silent" else None),
                root=config.root,
                list_file=config.list_file,
                trust_unverified=config.trust_unverified,
            )
        )
    metric_settings = _metric_settings(protocol)
    unavailable = {}
    if metrics_factory is None and config.metrics is None and protocol.dataset == "synthetic":
        metric_names, unavailable = _drop_unavailable(metric_names, metric_settings, config.trust_unverified)
    store = RunStore(config.run_dir)
    check_output_dir(store.root)
    with contextlib.ExitStack() as guard:
        locked = store.root.is_dir()
        if locked:  # a second writer is refused before any heavy setup
            guard.enter_context(RunLock(store.root))
        previous = _check_run_dir(store, config)

        # Fail fast: weights of every metric and the model are checked before any clip is touched.
        metrics = factory(metric_names, metric_settings, device, config.trust_unverified)
        adapter.prepare(protocol, device)

        clips = clips or ProtocolClips(
            protocol, config.root, config.list_file, workers=config.workers, show_progress=config.show_progress
        )
        items = clips.items()
        all_ids = [item.item_id for item in items]
        indexed = list(enumerate(items))
        if config.shard is not None:
            shard_index, shard_count = config.shard
            indexed = [(i, item) for i, item in indexed if i % shard_count == shard_index]
        clips.prepare([item for _, item in indexed])

        if not locked:
            guard.enter_context(RunLock(store.root))
            previous = _check_run_dir(store, config)  # another process may have started a run meanwhile
        try:
            if config.overwrite:
                _clear_run(store)
            clip_ids = [item.item_id for _, item in indexed]
            manifest = _manifest(config, protocol, adapter, metrics, metric_names, clip_ids, device, previous)
            manifest["build_settings"] = _jsonable(metric_settings)
            manifest["unavailable_metrics"] = unavailable
            engine = Engine(store, metrics, config.workers, gt_cache(config.gt_cache), config.per_frame)
            manifest["gt_cache"] = engine.gt_cache_record()
            done_ids = engine.restore(clip_ids) if previous else set()
            _remove_partial_videos(store.root)
            store.write_manifest(manifest)
            todo = [(i, item) for i, item in indexed if item.item_id not in done_ids]
            source = _RunSource(protocol, config, adapter, metrics, clips, all_ids, items, store)
            _score_all(config, engine, source, todo, len(indexed), adapter.label)
            return finalize(store, metrics, len(indexed), config.seed)
        except OSError as error:
            raise OutputError.from_os(error, store.root) from error


def _score_all(config: RunConfig, engine: Engine, source: _RunSource, todo: list, total: int, label: str) -> None:
    """Generate, score and record the clips of `todo` (see `stfbench.runner.engine`), with a progress bar."""
    with _progress(config.show_progress) as progress:
        label = config.label or label
        task = progress.add_task(_describe(label, 0, 0), total=total, completed=total - len(todo))
        counts = {"ok": 0, "failed": 0}

        def advance(record: dict[str, Any]) -> None:
            counts["ok" if record["status"] == "ok" else "failed"] += 1
            progress.update(task, advance=1, description=_describe(label, counts["ok"], counts["failed"]))

        engine.score(todo, source, advance)


def finalize(store: RunStore, metrics: list, n_expected: int, seed: int) -> Path:
    """Write `summary.json` from the records and the metrics' dataset-level values; stamp the end time."""
    records = store.read_records()
    dataset_values: dict[str, float] = {}
    for metric in metrics:
        dataset_values.update(metric.compute())
    count_keys = {key: text for metric in metrics for key, text in metric.count_keys.items()}
    summary = summarize(records, dataset_values, n_expected, seed, count_keys)
    manifest = store.read_manifest()
    manifest["metric_settings"] = {m.name: _jsonable(m.settings()) for m in metrics}  # frames actually scored
    summary.update(
        protocol=manifest["protocol"],
        model=manifest["model"],
        metric_settings=manifest["metric_settings"],
        stfbench_version=manifest["stfbench_version"],
        seed=manifest["seed"],
        shard=manifest.get("shard"),
        unavailable_metrics=manifest.get("unavailable_metrics", {}),
    )
    store.write_summary(summary)
    manifest["end_time"] = now_iso()
    manifest["status"] = "complete"
    store.write_manifest(manifest)
    return store.root


class _RunSource(ClipSource):
    """Protocol items generated by the adapter (in the main process, each with its own torch seed); the job
    pastes the crops back into the source frames when a metric or `--keep-videos` needs whole frames."""

    produce_ahead = False  # with one worker, a kill loses no generated clip

    def __init__(self, protocol, config, adapter, metrics: list, clips, all_ids, items, store):
        self.protocol = protocol
        self.clips = clips
        self.config = config
        self.adapter = adapter
        self.store = store
        self.extras = {"protocol_item_ids": all_ids}
        self.items_by_id = {item.item_id: item for item in items}
        self.needs_frames = config.keep_videos or any(m.needs_frames for m in metrics)

    def key(self, item: Any) -> str:
        return item.item_id

    def record(self, index: int, item: Any) -> dict[str, Any]:
        return {"clip_id": item.item_id, "index": index, "video_id": item.video_id, "audio_id": item.audio_id}

    def failure(self, item: Any, error: Exception) -> StfbenchError:
        return ModelError(f"{type(error).__name__}: {one_line(error)}")  # any other crash while generating

    def metric_failure(self, item: Any, metric: Any, error: Exception) -> StfbenchError:
        return MetricError(f"{metric.name}: {type(error).__name__}: {one_line(error)}")

    def _load(self, clip_id: str) -> Any:
        """A prepared clip; any crash while reading it is the clip's `decode-error`."""
        try:
            return self.clips.load(clip_id)
        except StfbenchError:
            raise
        except Exception as error:
            raise_if_output_failure(error, self.store.root)
            raise DecodeError(f"{type(error).__name__}: {one_line(error)}", clip_id) from error

    def produce(self, item: Any) -> _Pasted:
        """The clip generated by the adapter, as the metrics' sample to finish (raises the clip's failure)."""
        target = self._load(item.video_id)
        driving = target if item.audio_id == item.video_id else self._load(item.audio_id)
        silent = self.config.audio == "silent"
        audio = np.zeros_like(driving.audio) if silent else driving.audio  # the same length: the same frame count
        request, frame_index = build_request(self.protocol, item, target, audio, self.extras)
        replacement = None if silent else self.adapter.driving_audio(request, self._audio_of)
        if replacement is not None:
            request, frame_index = build_request(self.protocol, item, target, replacement, self.extras)
        torch.manual_seed(clip_seed(self.config.seed, item.item_id))
        try:
            output = self.adapter.generate(request)
        except StfbenchError:
            raise
        except Exception as error:
            raise ModelError(f"{self.adapter.name} failed: {type(error).__name__}: {one_line(error)}") from error
        generated = output if isinstance(output, Generated) else Generated(crops=output)
        crops = _check_crops(generated.crops, request)
        reconstruction = getattr(self.protocol.pairing, "mode", "reconstruction") == "reconstruction"
        sample = ScoringSample(
            clip_id=item.item_id,
            pred_crops=crops,
            gt_crops=request.target_crops if reconstruction else None,
            real_crops=None if reconstruction else request.target_crops,
            reference_crops=request.reference_crops,
            paired_mask=paired_mask(self.protocol, item.item_id, frame_index, len(target.crops)),
            pred_frames=generated.frames,
            audio=request.audio,
            fps=request.fps,
            sample_rate=request.sample_rate,
        )
        if generated.frames is not None or not self.needs_frames:
            return _Pasted(sample)
        return _Pasted(sample, self.clips, target, request.extras["boxes"], frame_index)

    def accept(self, item: Any, sample: ScoringSample) -> None:
        if self.config.keep_videos:  # before scoring, so clips that fail a metric can be inspected
            frames = sample.pred_frames if sample.pred_frames is not None else sample.pred_crops
            self._keep_video(item.item_id, frames, sample)

    def _audio_of(self, item_id: str) -> np.ndarray:
        return self._load(self.items_by_id[item_id].audio_id).audio

    def _keep_video(self, clip_id: str, frames: np.ndarray, sample: ScoringSample) -> None:
        import av

        from stfbench.media import write_clip

        path = self.store.root / "videos" / f"{clip_id}.mp4"
        try:  # atomic: a failed write leaves no partial file behind
            write_clip(path, frames, sample.audio, sample.fps, sample.sample_rate)
        except (OSError, av.error.FFmpegError) as error:
            raise OutputError(f"cannot write: {one_line(error)}", path) from error


@dataclass
class _Pasted:
    """A generated clip's job: its sample, with the crops pasted back into the decoded source frames at the
    prepared boxes when `clips` is given (picklable, so it runs in a worker process)."""

    sample: ScoringSample
    clips: Any = None
    target: Any = None
    boxes: np.ndarray | None = None
    frame_index: np.ndarray | None = None

    def __call__(self) -> ScoringSample:
        if self.clips is not None:
            source = self.clips.source_frames(self.target)  # (T_src, H, W, 3)
            frames = source[np.minimum(self.frame_index, len(source) - 1)]  # (T, H, W, 3)
            self.sample.pred_frames = paste_crops(frames, self.sample.pred_crops, self.boxes)
        return self.sample


def _check_crops(crops: np.ndarray, request: Any) -> np.ndarray:
    expected = request.target_crops.shape
    crops = np.asarray(crops)
    if crops.shape != expected or crops.dtype != np.uint8:
        raise ModelError(f"adapter returned {crops.shape} {crops.dtype}, expected {expected} uint8")
    return crops


def _check_run_dir(store: RunStore, config: RunConfig) -> dict[str, Any] | None:
    """The previous manifest when resuming; an error when the folder holds a run and --resume was not given."""
    if not store.exists():
        return None
    if config.overwrite:
        return None
    if not config.resume:
        raise StfbenchError(
            "run directory already holds a run: pass --resume to continue it or --overwrite", store.root
        )
    return store.read_manifest()


def _clear_run(store: RunStore) -> None:
    """--overwrite: remove the previous run's files (under the folder's lock)."""
    for name in ("manifest.json", "clips.jsonl", "summary.json"):
        (store.root / name).unlink(missing_ok=True)
    store.clear_state()
    store.clear_per_frame()


def _remove_partial_videos(root: Path) -> None:
    """Delete the temporary files of `--keep-videos` writes a killed process left (the folder is locked)."""
    videos = root / "videos"
    if videos.is_dir():
        for partial in videos.rglob(".*.partial.*"):
            partial.unlink(missing_ok=True)


def _manifest(config, protocol, adapter, metrics, metric_names, clip_ids, device, previous) -> dict[str, Any]:
    provenance = adapter.provenance()
    manifest = base_provenance(device=str(device), seed=config.seed)
    manifest.update(
        protocol=protocol_info(protocol, config.audio),
        model={
            "spec": config.model,
            "name": adapter.name,
            "label": config.label or adapter.label,
            "is_control": adapter.is_control,
            "uses_ground_truth_video": adapter.uses_ground_truth_video,
            "options": {k: str(v) for k, v in config.model_options.items() if v is not None},
            **provenance,
        },
        model_identity=_model_identity(config, provenance),
        metric_names=metric_names,
        metric_settings={m.name: _jsonable(m.settings()) for m in metrics},
        metric_weights={m.name: weight_hashes(m.settings()) for m in metrics},
        shard=list(config.shard) if config.shard else None,
        n_expected=len(clip_ids),
        clip_ids_sha256=sha256_json(clip_ids),
        keep_videos=config.keep_videos,
        start_time=manifest.pop("time"),
        end_time=None,
        status="running",
    )
    if previous is not None:
        for key in RESUME_KEYS:
            if _jsonable(previous.get(key)) != _jsonable(manifest.get(key)):
                raise StfbenchError(
                    f"cannot resume: {key} differs from the run in this folder "
                    f"({previous.get(key)!r} vs {manifest.get(key)!r})",
                    config.run_dir,
                )
        manifest["start_time"] = previous["start_time"]
        manifest["resumed_at"] = [*previous.get("resumed_at", []), now_iso()]
        changes = [
            {"at": manifest["resumed_at"][-1], "setting": key, "before": previous.get(key), "after": manifest.get(key)}
            for key in RECORDED_KEYS
            if _jsonable(previous.get(key)) != _jsonable(manifest.get(key))
        ]
        manifest["resume_changes"] = [*previous.get("resume_changes", []), *_jsonable(changes)]
    return manifest


def weight_hashes(settings: Any) -> list[str]:
    """The SHA-256 of every weight file named in a metric's settings, sorted: what a resume must match besides
    the protocol hash (counts such as frames scored change as the run goes; file locations may differ)."""
    if isinstance(settings, dict):
        own = [str(settings["sha256"])] if "sha256" in settings else []
        return sorted(own + [h for value in settings.values() for h in weight_hashes(value)])
    if isinstance(settings, list | tuple):
        return sorted(h for value in settings for h in weight_hashes(value))
    return []


def _model_identity(config: RunConfig, provenance: dict[str, Any]) -> dict[str, Any]:
    """What must not change across a resume: the model spec, its options and checkpoint digest."""
    return _jsonable(
        {
            "spec": config.model,
            "options": {k: str(v) for k, v in config.model_options.items() if v is not None},
            "checkpoint_sha256": provenance.get("checkpoint_sha256"),
        }
    )


def protocol_info(protocol: Any, audio: str = "speech") -> dict[str, Any]:
    """The protocol as results name it; `driving_audio` only when it is not the protocol's own speech."""
    metrics = getattr(protocol, "metrics", None)
    pairing = getattr(protocol, "pairing", None)
    cross = getattr(pairing, "mode", "reconstruction") == "cross"
    return {
        **({"driving_audio": audio} if audio != "speech" else {}),
        **({"pairing": {"mode": "cross", "pairs_file": pairing.pairs_file, "seed": pairing.seed}} if cross else {}),
        "id": protocol.id,
        "version": str(getattr(protocol, "version", "")),
        "hash": getattr(protocol, "hash", None),
        "dataset": getattr(protocol, "dataset", None),
        "lse_variant": getattr(metrics, "lse_variant", None),
        "lse_precision": getattr(metrics, "lse_precision", None),
    }


def _drop_unavailable(
    names: list[str], settings: dict[str, Any], trust_unverified: bool
) -> tuple[list[str], dict[str, str]]:
    """On the synthetic protocol, FID is reported as n/a (with the reason) when its Inception weights are
    absent, so the embedded protocol runs on a fresh machine; every other missing weight still fails fast."""
    from stfbench.metrics import missing_weights

    unavailable = missing_weights([n for n in names if n == "fid"], settings, trust_unverified)
    for name, reason in unavailable.items():
        console = make_console(stderr=True)
        console.print(f"[yellow]{name} is n/a on the synthetic protocol:[/] {escape(reason)}", highlight=False)
    return [n for n in names if n not in unavailable], unavailable


def _metric_settings(protocol: Any) -> dict[str, Any]:
    """Protocol metric settings handed to `build_metrics` (per-metric sections: LSE variant, weights, ...)."""
    return protocol.metrics.sections()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def _describe(label: str, ok: int, failed: int) -> str:
    return f"{escape(label)}: [green]{ok} ok[/] [red]{failed} failed[/]"


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not enabled,
    )
