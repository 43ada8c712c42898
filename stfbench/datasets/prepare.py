"""`prepare`: decode each clip, detect and smooth face boxes, cut the protocol's face crops, compute the mel
spectrogram and SyncNet MFCC, and cache the result by content hash.

Cache layout: `<cache>/prepared/<protocol id>/<key>.npz`, key = SHA-256 of the video bytes (+ the separate
audio file's bytes) and of the preparation settings (crop spec, rates, detector, format version). A clip that
fails leaves `<key>.error.json` with its status (decode-error, no-audio, wrong-rate, too-short, no-face) so a
re-run skips it too; `manifest.json` lists every clip of the protocol with its status and reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

from stfbench import __version__, errors, paths
from stfbench.audio import melspectrogram, syncnet_mfcc
from stfbench.console import Progress
from stfbench.datasets import faces, layout
from stfbench.hashing import sha256_bytes, sha256_file, sha256_json
from stfbench.media import read_clip

if TYPE_CHECKING:
    from stfbench.protocols.spec import Protocol

PREPARE_FORMAT = 1  # bump when the content of cached files changes


@dataclass
class PreparedClip:
    """A clip ready for models and metrics.

    crops: (T, S, S, 3) uint8 RGB face crops. boxes: (T, 4) float32 square crop boxes [x0, y0, x1, y1] in
    source pixels (after smoothing, scaling and clamping to the frame). detected: (T,) bool, frames where
    the detector itself found a face. audio: (N,) float32 mono at `sample_rate`. mel: (80, T_mel) float32
    Wav2Lip mel (80 steps/s). mfcc: (13, T_mfcc) float32 syncnet_python MFCC (100 frames/s).
    """

    clip_id: str
    crops: np.ndarray
    boxes: np.ndarray
    audio: np.ndarray
    mel: np.ndarray
    frame_size: tuple[int, int]
    source_path: Path
    mfcc: np.ndarray
    detected: np.ndarray
    fps: float = 25.0
    sample_rate: int = 16000
    detector: str = "dlib"

    @property
    def num_frames(self) -> int:
        return int(self.crops.shape[0])

    def save(self, path: Path) -> None:
        """Write atomically as an uncompressed .npz."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        meta = {
            "clip_id": self.clip_id,
            "frame_size": list(self.frame_size),
            "source_path": str(self.source_path),
            "fps": self.fps,
            "sample_rate": self.sample_rate,
            "detector": self.detector,
        }
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                crops=self.crops,
                boxes=self.boxes,
                audio=self.audio,
                mel=self.mel,
                mfcc=self.mfcc,
                detected=self.detected,
                meta=np.frombuffer(json.dumps(meta, allow_nan=False).encode(), np.uint8),
            )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> PreparedClip:
        try:
            with np.load(path) as data:
                meta = json.loads(data["meta"].tobytes())
                arrays = {k: data[k] for k in ("crops", "boxes", "audio", "mel", "mfcc", "detected")}
        except (OSError, ValueError, KeyError) as error:
            raise errors.DecodeError(
                f"unreadable prepared clip ({error}); delete it and re-run prepare", path
            ) from None
        return cls(
            clip_id=meta["clip_id"],
            frame_size=tuple(meta["frame_size"]),
            source_path=Path(meta["source_path"]),
            fps=meta["fps"],
            sample_rate=meta["sample_rate"],
            detector=meta["detector"],
            **arrays,
        )


@dataclass
class ClipRecord:
    """One clip's line in the manifest."""

    clip_id: str
    status: str
    reason: str = ""
    file: str | None = None
    frames: int = 0
    cached: bool = False


@dataclass
class PrepareReport:
    """What `prepare_protocol` did: per-clip records, counts by status, where the manifest is."""

    protocol_id: str
    cache_dir: Path
    manifest_path: Path
    records: dict[str, ClipRecord] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(record.status for record in self.records.values()))

    @property
    def newly_prepared(self) -> int:
        return sum(not r.cached for r in self.records.values())


def prepared_dir(protocol: Protocol) -> Path:
    return paths.cache_dir() / "prepared" / protocol.id


def prepare_settings(protocol: Protocol, detector: str | None = None, resample: bool = False) -> dict[str, Any]:
    """Everything besides the input bytes that decides a prepared clip's content."""
    return {
        "format": PREPARE_FORMAT,
        "crop": dataclasses.asdict(protocol.crop),
        "detector": detector or protocol.crop.detector,
        "fps": protocol.fps,
        "sample_rate": protocol.sample_rate,
        "min_frames": protocol.min_frames,
        "resample": resample,
    }


def prepare_clip(
    video_path: Path | str,
    protocol: Protocol,
    audio_path: Path | str | None = None,
    *,
    clip_id: str | None = None,
    detector: str | faces.FaceDetector | None = None,
    device: torch.device | None = None,
    resample: bool = False,
    trust_unverified: bool = False,
) -> PreparedClip:
    """Prepare one clip (any split) through the cache: a hit only hashes the input file and loads the .npz.

    Raises the clip's StfbenchError (also when a previous run recorded the failure).
    """
    prepared, _, _ = _prepare_cached(
        Path(video_path),
        protocol,
        None if audio_path is None else Path(audio_path),
        clip_id=clip_id or Path(video_path).stem,
        detector=detector,
        device=device,
        resample=resample,
        trust_unverified=trust_unverified,
    )
    return prepared


def _cache_paths(video_path: Path, audio_path: Path | None, protocol: Protocol, detector_name: str, resample: bool):
    if not video_path.is_file():
        raise errors.DecodeError("file not found", video_path)
    content = sha256_file(video_path)
    if audio_path is not None:
        if not audio_path.is_file():
            raise errors.DecodeError("file not found", audio_path)
        content = sha256_bytes(f"{content}:{sha256_file(audio_path)}".encode())
    settings = sha256_json(prepare_settings(protocol, detector_name, resample))
    folder = prepared_dir(protocol)
    stem = f"{content[:32]}-{settings[:16]}"
    return folder / f"{stem}.npz", folder / f"{stem}.error.json"


def _prepare_cached(
    video_path: Path,
    protocol: Protocol,
    audio_path: Path | None,
    *,
    clip_id: str,
    detector: str | faces.FaceDetector | None,
    device: torch.device | None,
    resample: bool,
    trust_unverified: bool,
) -> tuple[PreparedClip, bool, Path]:
    detector_name = detector if isinstance(detector, str) else (detector.name if detector else protocol.crop.detector)
    npz_path, error_path = _cache_paths(video_path, audio_path, protocol, detector_name, resample)
    if npz_path.is_file():
        prepared = PreparedClip.load(npz_path)
        prepared.clip_id = clip_id
        return prepared, True, npz_path
    if error_path.is_file():
        raise _recorded_error(error_path)
    if detector is None or isinstance(detector, str):
        detector = _shared_detector(detector_name, protocol, device, trust_unverified)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        prepared = _compute(video_path, audio_path, protocol, clip_id, detector, resample)
    except errors.StfbenchError as error:
        _write_json(error_path, {"status": error.status, "message": str(error), "clip_id": clip_id})
        raise
    prepared.save(npz_path)
    return prepared, False, npz_path


def _compute(
    video_path: Path,
    audio_path: Path | None,
    protocol: Protocol,
    clip_id: str,
    detector: faces.FaceDetector,
    resample: bool,
) -> PreparedClip:
    clip = read_clip(video_path, audio_path, fps=protocol.fps, sample_rate=protocol.sample_rate, resample=resample)
    if clip.num_frames < protocol.min_frames:
        raise errors.TooShortError(
            f"{clip.num_frames} frames, the protocol needs at least {protocol.min_frames}", video_path
        )
    needed_samples = round(protocol.min_frames * protocol.sample_rate / protocol.fps)
    if len(clip.audio) < needed_samples:
        raise errors.TooShortError(
            f"{len(clip.audio)} audio samples, the protocol needs at least {needed_samples}", audio_path or video_path
        )
    boxes = detector.detect(clip.frames)  # (T, 4), NaN rows = no face
    detected = np.isfinite(boxes).all(axis=1)  # (T,)
    if detected.mean() < max(protocol.crop.min_detection_ratio, 1e-9):
        raise errors.NoFaceError(
            f"{detector.name} found a face in {int(detected.sum())} of {len(detected)} frames "
            f"(the protocol needs {protocol.crop.min_detection_ratio:.0%})",
            video_path,
        )
    smoothed = faces.smooth_boxes(boxes, protocol.crop.smooth_window)
    frame_size = clip.frames.shape[1:3]
    crop_boxes = faces.square_crop_boxes(smoothed, protocol.crop, frame_size)  # (T, 4)
    return PreparedClip(
        clip_id=clip_id,
        crops=faces.cut_crops(clip.frames, crop_boxes, protocol.crop.size),
        boxes=crop_boxes.astype(np.float32),
        audio=clip.audio,
        mel=melspectrogram(clip.audio, protocol.sample_rate),
        frame_size=(int(frame_size[0]), int(frame_size[1])),
        source_path=video_path,
        mfcc=syncnet_mfcc(clip.audio, protocol.sample_rate),
        detected=detected,
        fps=protocol.fps,
        sample_rate=protocol.sample_rate,
        detector=detector.name,
    )


_DETECTORS: dict[tuple, faces.FaceDetector] = {}


def _shared_detector(
    name: str, protocol: Protocol, device: torch.device | None, trust_unverified: bool
) -> faces.FaceDetector:
    key = (name, protocol.crop.dlib_upsample, str(device), trust_unverified)
    if key not in _DETECTORS:
        _DETECTORS[key] = faces.make_detector(name, protocol.crop, device, trust_unverified)
    return _DETECTORS[key]


def _error_classes() -> dict[str, type[errors.StfbenchError]]:
    return {cls.status: cls for cls in errors.StfbenchError.__subclasses__()}


def _recorded_error(error_path: Path) -> errors.StfbenchError:
    record = json.loads(error_path.read_text())
    error = _error_classes().get(record["status"], errors.StfbenchError)(record["message"])
    error.from_cache = True
    return error


def _write_json(path: Path, content: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(content, indent=1, sort_keys=True, allow_nan=False))
    tmp.replace(path)


def _prepare_task(task: tuple) -> ClipRecord:
    """One clip for `prepare_protocol` (runs in a worker process when workers > 1)."""
    clip_id, video_path, protocol, detector, device, resample, trust_unverified = task
    try:
        prepared, cached, npz_path = _prepare_cached(
            video_path,
            protocol,
            None,
            clip_id=clip_id,
            detector=detector,
            device=device,
            resample=resample,
            trust_unverified=trust_unverified,
        )
    except errors.WeightsError:
        raise  # a missing detector is the run's problem, not the clip's
    except errors.StfbenchError as error:
        return ClipRecord(clip_id, error.status, str(error), cached=getattr(error, "from_cache", False))
    return ClipRecord(clip_id, "ok", "", npz_path.name, prepared.num_frames, cached)


def _worker_init() -> None:
    torch.set_num_threads(1)


def prepare_protocol(
    protocol: Protocol,
    root: Path | str | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    workers: int = 1,
    *,
    detector: str | None = None,
    resample: bool = False,
    list_file: Path | str | None = None,
    retry_failed: bool = False,
    trust_unverified: bool = False,
) -> PrepareReport:
    """Prepare every clip the protocol reads (video and audio sources) and write `manifest.json`.

    Cached clips (and, unless `retry_failed`, cached failures) are skipped. The clip list is verified first
    (ProtocolError when it does not match the protocol's pins). `workers` processes prepare the clips (0: one per
    CPU core); the results do not depend on it.
    """
    from stfbench.protocols.resolve import resolve_clip_list

    started = time.perf_counter()
    resolved = resolve_clip_list(protocol, root, list_file=list_file)
    detector_name = detector or protocol.crop.detector
    folder = prepared_dir(protocol)
    folder.mkdir(parents=True, exist_ok=True)
    if retry_failed:
        for stale in folder.glob("*.error.json"):
            stale.unlink()
    if detector_name == "s3fd":  # fail once, before the loop, when the S3FD weights are missing or wrong
        _shared_detector(detector_name, protocol, device, trust_unverified)
    tasks = [
        (
            clip_id,
            layout.clip_path(resolved.layout, resolved.root, clip_id, protocol.split),
            protocol,
            detector_name,
            device,
            resample,
            trust_unverified,
        )
        for clip_id in resolved.clip_ids
    ]
    report = PrepareReport(protocol.id, folder, folder / "manifest.json")
    workers = workers or os.cpu_count() or 1
    columns = (TextColumn("prepare {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task_id = bar.add_task(escape(protocol.id), total=len(tasks))
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
                for record in pool.map(_prepare_task, tasks, chunksize=4):
                    report.records[record.clip_id] = record
                    bar.advance(task_id)
        else:
            for task in tasks:
                record = _prepare_task(task)
                report.records[record.clip_id] = record
                bar.advance(task_id)
    report.seconds = time.perf_counter() - started
    _write_json(
        report.manifest_path,
        {
            "protocol": {"id": protocol.id, "version": protocol.version, "hash": protocol.hash},
            "clip_list": {"sha256": resolved.sha256, "pinned": resolved.pinned, "source": str(resolved.source)},
            "root": str(resolved.root),
            "settings": prepare_settings(protocol, detector_name, resample),
            "stfbench_version": __version__,
            "counts": report.counts,
            "clips": {
                r.clip_id: {k: v for k, v in dataclasses.asdict(r).items() if k != "cached"}
                for r in report.records.values()
            },
        },
    )
    _MANIFESTS.pop(report.manifest_path, None)
    return report


_MANIFESTS: dict[Path, tuple[int, dict]] = {}


def _manifest(protocol: Protocol) -> dict:
    path = prepared_dir(protocol) / "manifest.json"
    if not path.is_file():
        raise errors.StfbenchError(
            f"protocol {protocol.id} is not prepared: run `stfbench prepare --dataset {protocol.id}`"
        )
    stamp = path.stat().st_mtime_ns
    if path not in _MANIFESTS or _MANIFESTS[path][0] != stamp:
        _MANIFESTS[path] = (stamp, json.loads(path.read_text()))
    return _MANIFESTS[path][1]


def load_prepared(protocol: Protocol, clip_id_or_path: str | Path) -> PreparedClip:
    """A prepared clip by id (looked up in the protocol's manifest) or by .npz path.

    Raises the error recorded for a clip that failed (its class carries the status: no-face, ...).
    """
    if isinstance(clip_id_or_path, Path) or str(clip_id_or_path).endswith(".npz"):
        return PreparedClip.load(Path(clip_id_or_path))
    clip_id = str(clip_id_or_path)
    record = _manifest(protocol)["clips"].get(clip_id)
    if record is None:
        raise errors.StfbenchError(f"clip {clip_id} is not in protocol {protocol.id}'s prepare manifest")
    if record["status"] != "ok":
        raise _error_classes().get(record["status"], errors.StfbenchError)(record["reason"])
    prepared = PreparedClip.load(prepared_dir(protocol) / record["file"])
    prepared.clip_id = clip_id
    return prepared
