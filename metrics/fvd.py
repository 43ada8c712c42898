"""FVD between generated and ground-truth face-crop videos (↓, unitless, [0, ∞); 0 for identical statistics).

Samples: every clip is cut into windows of `frames` consecutive frames starting at frames 0, `stride`,
2·`stride`, … while a whole window fits (default 16 frames, stride 16: non-overlapping; a clip of T frames
gives ⌊(T − frames) / stride⌋ + 1 windows, the frames after the last window are not used; a clip shorter
than one window fails as `too-short`). Each window's frames are resized to 224² (bilinear) and mapped to
[−1, 1] as StyleGAN-V / common_metrics_on_video_quality do, and the Kinetics-400 I3D gives 400-d
pre-softmax features (`stfbench.metrics.networks.i3d`). All windows of the dataset are pooled into one
Gaussian per side with FID's streaming float64 sums (`stfbench.metrics.frechet.FeatureStats`, memory
independent of the number of clips), and FVD is their Fréchet distance. The ground-truth side is the GT
crops of each clip (under cross pairing: the target video's real crops), read through the GT cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from stfbench.errors import StfbenchError, TooShortError
from stfbench.metrics.base import ScoringSample
from stfbench.metrics.frechet import FrechetMetric

FeatureFn = Callable[[np.ndarray], np.ndarray]  # (N, frames, S, S, 3) uint8 windows → (N, 400) features
DIMS = 400


def clip_windows(frames: np.ndarray, length: int, stride: int) -> np.ndarray:
    """(W, length, S, S, 3) views of `frames` (T, S, S, 3): windows starting at 0, stride, … that fit whole."""
    if len(frames) < length:
        raise TooShortError(f"FVD needs at least {length} frames per clip, got {len(frames)}")
    starts = range(0, len(frames) - length + 1, stride)
    return np.stack([frames[s : s + length] for s in starts])


class FVD(FrechetMetric):
    keys = ("fvd",)
    dims = DIMS
    observed_settings = ("n_pred", "n_gt")

    def __init__(
        self,
        features: FeatureFn,
        frames: int = 16,
        stride: int = 16,
        size: int = 224,
        provenance: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
    ) -> None:
        if frames < 9 or stride < 1:
            raise StfbenchError(
                f"FVD needs frames ≥ 9 (the I3D's temporal pooling) and stride ≥ 1, got {frames}, {stride}"
            )
        self.features = features
        self.frames, self.stride, self.size = frames, stride, size
        self.weights = provenance or {}
        self.identity = identity
        self.reset()

    @property
    def name(self) -> str:
        return f"fvd[i3d400,{self.frames}f,stride{self.stride},{self.size}]"

    def update(self, sample: ScoringSample) -> dict[str, float]:
        real = sample.gt_crops if sample.gt_crops is not None else sample.real_crops  # cross pairing: the target's
        if real is None:
            raise StfbenchError("FVD needs ground-truth crops", sample.clip_id)
        pred = self.features(clip_windows(sample.pred_crops, self.frames, self.stride))  # (W, 400)
        gt = self.cached_gt(real, self.gt_features)["features"]  # (W', 400)
        self.pred.add(pred)
        self.gt.add(gt)
        return {}

    def gt_identity(self) -> dict[str, Any] | None:
        if self.identity is None:
            return None
        return {
            "metric": "fvd",
            "features": self.identity,
            "frames": self.frames,
            "stride": self.stride,
            "size": self.size,
        }

    def gt_features(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """`features` (W, 400) of a ground-truth clip's windows (frames (T, S, S, 3)), cached per clip."""
        return {"features": self.features(clip_windows(frames, self.frames, self.stride))}

    def settings(self) -> dict[str, Any]:
        return {
            "features": "Kinetics-400 I3D (StyleGAN-V i3d_torchscript.pt tensors), 400-d pre-softmax logits",
            "window": f"{self.frames} consecutive frames, starts every {self.stride} frames from frame 0",
            "resize": f"{self.size}x{self.size} bilinear (align_corners=False), [0, 1] → [-1, 1]",
            "pooling": "all windows of all clips",
            "n_pred": self.pred.n,
            "n_gt": self.gt.n,
            "weights": self.weights,
        }
