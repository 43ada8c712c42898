"""Metric base class and the per-clip sample every metric reads.

Metrics stream: `update(sample)` once per clip (returns that clip's values for paired metrics),
`compute()` at the end. `state_dict()` / `merge()` let shards combine accumulated statistics, so a
dataset-level metric such as FID of a sharded run equals the unsharded one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from stfbench.errors import StfbenchError
from stfbench.metrics.exact_sum import ExactSum
from stfbench.metrics.gt_cache import GTCache, content_key, namespace_key


class MismatchError(StfbenchError):
    """Generated and ground-truth clips cannot be paired (frame count or size differ, GT missing)."""

    status = "mismatch"


@dataclass
class ScoringSample:
    """What one clip offers the metrics. Arrays are uint8 RGB; audio is float32 mono."""

    clip_id: str
    pred_crops: np.ndarray  # (T, S, S, 3) generated face crops
    gt_crops: np.ndarray | None = None  # (T, S, S, 3) ground-truth crops (paired metrics)
    pred_frames: np.ndarray | None = None  # (T, H, W, 3) whole generated frames (LSE fullframe224)
    audio: np.ndarray | None = None  # (N,) float32 driving audio
    fps: float = 25.0
    sample_rate: int = 16000
    paired_mask: np.ndarray | None = None  # (T,) bool: frames the paired metrics compare (None = all)
    #: (T, S, S, 3) real crops that are not this output's ground truth (the target video under cross pairing):
    #: a real-image reference for distribution metrics (FID), never for paired ones
    real_crops: np.ndarray | None = None
    #: (T, S, S, 3) the identity reference crop the model was handed for each output frame (CSIM); None in
    #: `score`, which knows no reference
    reference_crops: np.ndarray | None = None
    #: metric name → the output of its `clip_stage` computed ahead (in a worker), or the exception it raised
    staged: dict[str, Any] = field(default_factory=dict)


class Metric(ABC):
    """A streaming metric. Subclasses document definition, units, range and direction (↑/↓)."""

    #: Output keys this metric produces, e.g. ("psnr",) or ("lse_c", "lse_d", "av_offset").
    keys: tuple[str, ...] = ()
    #: Per-clip output keys that are diagnostic counts, with what they count (e.g. LMD's frames without a
    #: face): summaries sum them as counts instead of averaging them as metrics with a CI.
    count_keys: ClassVar[dict[str, str]] = {}
    #: `settings()` keys that describe the data scored (frame counts, observed sizes): they are final only
    #: at the end of a run, and shards of one run may differ in them.
    observed_settings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Name including the variant, e.g. `lse[fullframe224,syncnet_v2]`."""
        return type(self).__name__.lower()

    @abstractmethod
    def update(self, sample: ScoringSample) -> dict[str, float]:
        """Consume one clip; return its per-clip values ({} for dataset-level metrics)."""

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """Dataset-level values from everything seen so far."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Accumulated statistics (JSON/npz-able) that `merge` can combine across shards."""

    @abstractmethod
    def merge(self, state: dict[str, Any]) -> None:
        """Add another shard's `state_dict()` to this metric's statistics."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all accumulated statistics (`reset()` then `merge(state)` restores a saved state)."""

    def per_frame(self) -> dict[str, Any] | None:
        """Per-frame detail of the clip the last `update` scored (JSON-able: lists, numbers), which a run
        writes to a sidecar file per clip when asked (`--per-frame`); None when the metric has none."""
        return None

    def precompute(self, samples: Sequence[ScoringSample]) -> None:
        """Optionally compute several clips' values together (e.g. shared forward batches) ahead of their
        `update` calls, which then use them. Changes no statistics; a no-op unless a metric overrides it."""
        return None

    @classmethod
    def precomputes(cls) -> bool:
        """Whether this metric overrides `precompute` (callers then hand it clips in groups)."""
        return cls.precompute is not Metric.precompute

    def clip_stage(self) -> Callable[[ScoringSample], Any] | None:
        """The part of `update` that reads one clip and changes no statistics and uses no network (crop/resize,
        face detection, landmarks, per-frame PSNR/SSIM), as a picklable callable a runner may call ahead, in a
        worker process, storing its output in `sample.staged`; None when there is none."""
        return None

    def staged(self, sample: ScoringSample, compute: Callable[[ScoringSample], Any]) -> Any:
        """This metric's clip-stage output for `sample`: the one computed ahead (its exception re-raised), else
        `compute(sample)` now."""
        if self.name not in sample.staged:
            return compute(sample)
        value = sample.staged[self.name]
        if isinstance(value, BaseException):
            raise value
        return value

    #: Whether the metric reads whole frames (`ScoringSample.pred_frames`) rather than only crops.
    needs_frames: bool = False

    #: The ground-truth cache this metric reads and fills (`use_gt_cache`), and its namespace there.
    gt_cache: GTCache | None = None
    gt_namespace: str | None = None

    def gt_identity(self) -> dict[str, Any] | None:
        """Everything besides the frames that the metric's ground-truth-side quantity depends on (settings,
        weight SHA-256, library versions, device type); None when the metric has none or cannot name it all
        (it is then never cached)."""
        return None

    def use_gt_cache(self, cache: GTCache | None) -> str | None:
        """Read and fill `cache` from now on (None: stop); returns the namespace, or None when not cached."""
        identity = self.gt_identity() if cache is not None else None
        self.gt_cache, self.gt_namespace = (cache, namespace_key(identity)) if identity is not None else (None, None)
        return self.gt_namespace

    def cached_gt(
        self, frames: np.ndarray, compute: Callable[[np.ndarray], dict[str, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        """`compute(frames)` (ground-truth frames → named arrays), read from the ground-truth cache when an
        entry for these exact frames exists, else computed and stored there."""
        if self.gt_cache is None or self.gt_namespace is None:
            return compute(frames)
        kind, content = type(self).__name__.lower(), content_key(frames)
        found = self.gt_cache.load(kind, self.gt_namespace, content)
        if found is None:
            found = compute(frames)
            self.gt_cache.save(kind, self.gt_namespace, content, self.gt_identity() or {}, **found)
        return found

    def settings(self) -> dict[str, Any]:
        """The exact settings used (window, backend, weights SHA-256, ...), recorded with results."""
        return {}


def paired_crops(sample: ScoringSample, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(gt, pred) crops of equal shape, restricted to `sample.paired_mask`, or MismatchError naming the clip."""
    if sample.gt_crops is None:
        raise MismatchError(f"{metric} needs ground-truth crops and none were given", sample.clip_id)
    gt, pred = sample.gt_crops, sample.pred_crops
    if gt.shape != pred.shape:
        raise MismatchError(f"{metric}: generated {pred.shape} and ground truth {gt.shape} differ", sample.clip_id)
    if sample.paired_mask is not None:
        if sample.paired_mask.shape != (len(gt),) or not sample.paired_mask.any():
            raise MismatchError(f"{metric}: the paired-frame mask leaves no frame to compare", sample.clip_id)
        gt, pred = gt[sample.paired_mask], pred[sample.paired_mask]
    return gt, pred


class FrameMeanMetric(Metric):
    """A paired per-frame metric whose clip value is the mean over the clip's frames and whose dataset
    value is the mean over all frames of all clips (frame-weighted)."""

    key: str = ""

    def __init__(self) -> None:
        self.keys = (self.key,)
        self.reset()

    def reset(self) -> None:
        self.total = ExactSum()
        self.count = 0

    @abstractmethod
    def frame_values(self, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Per-frame values (T,) of (T, S, S, 3) uint8 ground truth and prediction."""

    def paired_values(self, sample: ScoringSample) -> np.ndarray:
        """Per-frame values (T',) of the sample's paired frames (its clip stage)."""
        gt, pred = paired_crops(sample, self.key)
        return self.frame_values(gt, pred)

    def clip_stage(self) -> Callable[[ScoringSample], np.ndarray] | None:
        return self.paired_values

    def update(self, sample: ScoringSample) -> dict[str, float]:
        values = self.staged(sample, self.paired_values)  # (T,)
        self.total.add(values.tolist())
        self.count += len(values)
        return {self.key: float(values.mean())}

    def compute(self) -> dict[str, float]:
        return {self.key: self.total.value / self.count if self.count else float("nan")}

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total.state(), "count": self.count}

    def merge(self, state: dict[str, Any]) -> None:
        self.total.merge(ExactSum(state["total"]))
        self.count += int(state["count"])
