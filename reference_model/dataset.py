"""Training clips from a protocol's dataset: decode, detect + crop faces with the protocol's crop spec,
compute the mel spectrogram, and cache the result per clip (`<cache>/training-crops/<crop hash>/`).

Clips that fail (decode error, no face, too short, ...) are counted by status and reported, never
silently dropped.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track

from stfbench.audio import melspectrogram
from stfbench.datasets import clip_path, layout_of, read_layout
from stfbench.datasets.faces import cut_crops, make_detector, smooth_boxes, square_crop_boxes
from stfbench.errors import NoFaceError, StfbenchError
from stfbench.hashing import sha256_json
from stfbench.media import read_clip
from stfbench.paths import cache_dir
from stfbench.protocols import CropSpec, Protocol, load_protocol, protocol_root
from stfbench.reference_model.data import TrainingClip, make_training_clip

DATASETS = ("synthetic", "lrs2", "lrw")


@dataclasses.dataclass
class FaceClip:
    """Face crops (T, S, S, 3) uint8, crop boxes (T, 4) in source pixels, audio and its mel (80, T_mel)."""

    clip_id: str
    crops: np.ndarray
    boxes: np.ndarray
    audio: np.ndarray
    mel: np.ndarray
    fps: float


def dataset_protocol(dataset: str) -> Protocol:
    """The protocol whose crop spec and rates a dataset's training clips use: `synthetic`, `lrs2`, `lrw`, or
    the path of a protocol `.toml` file for one of those datasets."""
    if dataset not in DATASETS and not dataset.endswith(".toml"):
        raise StfbenchError(f"--dataset {dataset}: choose from {', '.join(DATASETS)} or give a protocol .toml file")
    return load_protocol(dataset)


def crop_faces(frames: np.ndarray, crop: CropSpec, source: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Detect, smooth and cut square face crops: (T, H, W, 3) → crops (T, S, S, 3), boxes (T, 4)."""
    boxes = make_detector(crop.detector, crop).detect(frames)
    found = np.isfinite(boxes).all(axis=1)
    if found.mean() < crop.min_detection_ratio:
        raise NoFaceError(f"a face was found in {found.sum()} of {len(frames)} frames", source)
    crop_boxes = square_crop_boxes(smooth_boxes(boxes, crop.smooth_window), crop, frames.shape[1:3])
    return cut_crops(frames, crop_boxes, crop.size), crop_boxes


def load_face_clip(path: str | Path, protocol: Protocol, clip_id: str, use_cache: bool = True) -> FaceClip:
    """Decode one clip and crop its face per `protocol.crop` (cached by crop spec and file size/mtime)."""
    path = Path(path)
    stat = path.stat() if path.exists() else None
    key = sha256_json({"crop": dataclasses.asdict(protocol.crop), "fps": protocol.fps, "sr": protocol.sample_rate})
    cached = cache_dir() / "training-crops" / key[:16] / f"{clip_id.replace('/', '__')}.npz"
    stamp = None if stat is None else np.array([stat.st_size, stat.st_mtime_ns])
    if use_cache and cached.exists() and stamp is not None:
        data = np.load(cached)
        if np.array_equal(data["stamp"], stamp):
            return FaceClip(clip_id, data["crops"], data["boxes"], data["audio"], data["mel"], float(data["fps"]))
    clip = read_clip(path, fps=protocol.fps, sample_rate=protocol.sample_rate)
    crops, boxes = crop_faces(clip.frames, protocol.crop, path)
    face = FaceClip(clip_id, crops, boxes, clip.audio, melspectrogram(clip.audio, clip.sample_rate), clip.fps)
    if use_cache and stamp is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.stem}.tmp.npz")
        np.savez(tmp, crops=crops, boxes=boxes, audio=clip.audio, mel=face.mel, fps=clip.fps, stamp=stamp)
        tmp.replace(cached)
    return face


def load_training_clips(
    dataset: str,
    split: str,
    image_size: int,
    mel_offset: int = -1,
    root: str | Path | None = None,
    limit: int | None = None,
    console: Console | None = None,
) -> list[TrainingClip]:
    """The `split` clips of `dataset` (first `limit` ids in sorted order) as `TrainingClip`s."""
    protocol = dataset_protocol(dataset)
    base = protocol_root(protocol, root)
    layout = layout_of(protocol.dataset, base)
    ids = read_layout(protocol.dataset, base, split)[:limit]
    if not ids:
        raise StfbenchError(f"no {split} clips found for --dataset {dataset}", base)
    clips, failures = [], collections.Counter()
    for clip_id in track(ids, description=f"{dataset} {split} clips", console=console, transient=True):
        try:
            face = load_face_clip(clip_path(layout, base, clip_id, split), protocol, clip_id)
            clips.append(make_training_clip(clip_id, face.crops, face.mel, image_size, face.fps, mel_offset))
        except StfbenchError as error:
            failures[error.status] += 1
            if console is not None:
                console.print(f"[yellow]skipped[/] {error}", highlight=False)
    if console is not None:
        summary = ", ".join(f"{status}: {n}" for status, n in failures.items()) or "none"
        console.print(f"{dataset} {split}: {len(clips)} clips loaded, failed {sum(failures.values())} ({summary})")
    if not clips:
        raise StfbenchError(f"none of the {len(ids)} {split} clips of --dataset {dataset} could be used", base)
    return clips
