"""Training clips from a protocol's dataset: face crops and mel spectrograms from `stfbench prepare`'s
per-clip cache (`stfbench.datasets.prepare_clip`, the same crops the runner scores).

Clips that fail (decode error, no face, too short, ...) are counted by status and reported, never
silently dropped.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import track

from stfbench.datasets import clip_path, layout_of, prepare_clip, read_layout
from stfbench.datasets.faces import cut_crops, make_detector, smooth_boxes, square_crop_boxes
from stfbench.errors import NoFaceError, StfbenchError
from stfbench.protocols import CropSpec, Protocol, load_protocol, protocol_root
from stfbench.reference_model.data import TrainingClip, make_training_clip

DATASETS = ("synthetic", "lrs2", "lrw")


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
    for clip_id in track(ids, description=escape(f"{dataset} {split} clips"), console=console, transient=True):
        try:
            face = prepare_clip(clip_path(layout, base, clip_id, split), protocol, clip_id=clip_id)
            clips.append(make_training_clip(clip_id, face.crops, face.mel, image_size, face.fps, mel_offset))
        except StfbenchError as error:
            failures[error.status] += 1
            if console is not None:
                console.print(f"[yellow]skipped[/] {escape(str(error))}", highlight=False)
    if console is not None:
        summary = ", ".join(f"{status}: {n}" for status, n in failures.items()) or "none"
        console.print(
            f"{dataset} {split}: {len(clips)} clips loaded, failed {sum(failures.values())} ({summary})", markup=False
        )
    if not clips:
        raise StfbenchError(f"none of the {len(ids)} {split} clips of --dataset {dataset} could be used", base)
    return clips
