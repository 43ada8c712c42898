"""Protocol dataclasses: what a test protocol pins (clip list, rates, crop, pairing, reference, metrics)."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stfbench.errors import ProtocolError
from stfbench.hashing import sha256_json

DATASETS = ("lrs2", "lrw", "synthetic")
CLIP_LIST_SOURCES = ("list-file", "layout", "pairs-file")
HASH_KINDS = ("canonical-ids", "file")
DETECTORS = ("dlib", "s3fd", "none")
PAIRING_MODES = ("reconstruction", "cross")
REFERENCE_RULES = ("seeded-frame", "first-frame", "same-frame")
METRIC_NAMES = ("psnr", "ssim", "lmd", "fid", "lse", "lpips")
LSE_VARIANTS = ("fullframe224", "facecrop")
LSE_PRECISIONS = ("fp32", "bf16", "fp16")  # SyncNet forward precision (stfbench.metrics.sync.PRECISIONS)
LMD_BACKENDS = ("dlib", "fan")
LMD_VARIANTS = ("mean", "sum")
LAYOUTS = ("lrs2", "lrw")


@dataclass(frozen=True)
class ClipListSpec:
    """Which clips a protocol runs and the pins that verify them.

    source: `list-file` (ids read from `file`, e.g. LRS2's test.txt; extra tokens such as NF/MV are dropped),
    `layout` (ids enumerated from the dataset tree for the split) or `pairs-file` (items read from the
    pairs file, one `<audio_id> <video_id>` per line). sha256 is the canonical id-list hash
    (`hash_kind = "canonical-ids"`: byte-sorted ids, one per line) or the SHA-256 of the file's bytes
    (`hash_kind = "file"`). count/sha256 None = not pinned yet (computed and recorded, never checked).
    """

    source: str
    count: int | None
    sha256: str | None
    hash_kind: str = "canonical-ids"
    file: str | None = None


@dataclass(frozen=True)
class CropSpec:
    """Face crop: detect (dlib HOG, S3FD or none = whole frame), smooth boxes over `smooth_window` frames
    (centred moving average), square of side `scale`·max(box w, h) centred on the box centre moved down by
    `shift_y`·side, resized to `size`×`size` pixels."""

    detector: str
    size: int
    scale: float = 1.0
    smooth_window: int = 5
    shift_y: float = 0.0
    dlib_upsample: int = 1
    min_detection_ratio: float = 0.5  # below this fraction of frames with a face → no-face


@dataclass(frozen=True)
class PairingSpec:
    """`reconstruction`: each clip is driven by its own audio. `cross`: by another clip's audio, from
    `pairs_file` when given, else a derangement of the sorted clip list seeded by `seed`."""

    mode: str
    pairs_file: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class ReferenceSpec:
    """Which frame supplies identity for output frame t: `same-frame` (t), `first-frame` (0) or
    `seeded-frame` (one frame per clip drawn from SHA-256(seed, item id)).

    `exclude_from_paired_metrics`: the paired per-frame metrics (PSNR, SSIM, LMD, LPIPS) skip the output
    frames whose target *is* the reference frame — the model was handed that ground-truth frame as input,
    so scoring it rewards copying (the `static` control would score PSNR = ∞ there). Only for the
    single-frame rules; LSE and FID always see every frame."""

    rule: str
    seed: int = 0
    exclude_from_paired_metrics: bool = False

    def __post_init__(self) -> None:
        if self.exclude_from_paired_metrics and self.rule == "same-frame":
            raise ProtocolError(
                "[reference] exclude_from_paired_metrics needs a single reference frame per clip "
                "(rule first-frame or seeded-frame); with same-frame every frame would be excluded"
            )

    def indices(self, item_id: str, num_frames: int) -> np.ndarray:
        """(num_frames,) int64 reference frame index for every output frame."""
        if num_frames <= 0:
            return np.zeros(0, np.int64)
        if self.rule == "same-frame":
            return np.arange(num_frames, dtype=np.int64)
        if self.rule == "first-frame":
            return np.zeros(num_frames, np.int64)
        digest = hashlib.sha256(f"{self.seed}:{item_id}".encode()).digest()
        return np.full(num_frames, int.from_bytes(digest[:8], "big") % num_frames, np.int64)


@dataclass(frozen=True)
class MetricSettings:
    """Metric names and settings pinned by the protocol; `weights` maps a role to a weight-registry id."""

    names: tuple[str, ...]
    lse_variant: str = "fullframe224"
    lse_precision: str = "fp32"  # bf16 / fp16: SyncNet under autocast, named in the metric
    lmd_backend: str = "dlib"
    lmd_variant: str = "mean"
    lmd_image_size: int = 0  # 0 = landmarks on the crops at their own size
    fid_frame_stride: int = 1
    ssim: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, str] = field(default_factory=dict)

    def sections(self) -> dict[str, dict[str, Any]]:
        """The same settings as per-metric sections (`{"ssim": {...}, "lmd": {...}, ...}`)."""
        sections: dict[str, dict[str, Any]] = {
            "ssim": dict(self.ssim),
            "lmd": {
                "backend": self.lmd_backend,
                "reduction": self.lmd_variant,
                "image_size": self.lmd_image_size or None,
            },
            "fid": {"frame_step": self.fid_frame_stride},
            "lse": {"variant": self.lse_variant, "precision": self.lse_precision},
        }
        if "syncnet" in self.weights:
            sections["lse"]["weights"] = self.weights["syncnet"]
        return sections


@dataclass(frozen=True)
class SyntheticSpec:
    """Arguments of `stfbench.synth.ensure_corpus` for the embedded synthetic protocol."""

    speakers: int
    clips: int
    seed: int
    layout: str = "lrs2"
    duration_s: float = 3.0
    image_size: int = 160


@dataclass(frozen=True)
class ProtocolItem:
    """One unit of evaluation: the video whose face is re-dubbed and the clip whose audio drives it."""

    item_id: str
    video_id: str
    audio_id: str
    video_path: Path
    audio_path: Path


@dataclass(frozen=True)
class Protocol:
    """A versioned test protocol. `hash` (SHA-256 of `to_dict()`) identifies it in results."""

    id: str
    version: int
    description: str
    dataset: str
    split: str
    fps: float
    sample_rate: int
    clip_list: ClipListSpec
    crop: CropSpec
    pairing: PairingSpec
    reference: ReferenceSpec
    metrics: MetricSettings
    synthetic: SyntheticSpec | None = None
    min_frames: int = 5  # clips shorter than this are `too-short` (SyncNet and the generators need 5)
    source_path: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Canonical content (everything but where the file was read from), JSON-able."""
        content = dataclasses.asdict(self)
        content.pop("source_path")
        content["metrics"]["names"] = list(self.metrics.names)
        if self.metrics.lse_precision == "fp32":  # the default is left out: fp32 protocols keep their pinned hashes
            del content["metrics"]["lse_precision"]
        return content

    @property
    def hash(self) -> str:
        return sha256_json(self.to_dict())

    def items(self, root: Path | str | None = None, *, list_file: Path | str | None = None) -> list[ProtocolItem]:
        """Resolve the clip list under the dataset root, verify its count and hash, apply the pairing."""
        from stfbench.protocols.resolve import protocol_items

        return protocol_items(self, root, list_file=list_file)
