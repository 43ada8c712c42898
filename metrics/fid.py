"""FID between generated and ground-truth face crops (↓, unitless, [0, ∞); 0 for identical statistics).

Features: pytorch-fid's InceptionV3 pool3 (2048-d) with the official `pt_inception-2015-12-05-6726825d.pth`
and pytorch-fid's preprocessing. Every `frame_step`-th frame of every clip is a sample (a protocol
setting recorded in the output); all samples of the dataset are pooled into one Gaussian per side
(streaming float64 sums, memory independent of the number of frames), and FID is the Fréchet distance
of the two (pytorch-fid's `calculate_frechet_distance`). Ground-truth statistics come from the GT crops
of the same run (under cross pairing: the real crops of each target video, as Wav2Lip's evaluation does) or
from a precomputed .npz (`gt_stats`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from stfbench.errors import StfbenchError
from stfbench.metrics.base import ScoringSample
from stfbench.metrics.frechet import FrechetMetric, load_stats, save_stats

FeatureFn = Callable[[np.ndarray], np.ndarray]  # (N, H, W, 3) uint8 → (N, D) features


class FID(FrechetMetric):
    keys = ("fid",)
    observed_settings = ("n_pred", "n_gt")

    def __init__(
        self,
        features: FeatureFn,
        dims: int = 2048,
        frame_step: int = 1,
        gt_stats: str | None = None,
        provenance: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
    ) -> None:
        if frame_step < 1:
            raise StfbenchError(f"FID frame_step must be ≥ 1, got {frame_step}")
        self.features = features
        self.dims = dims
        self.frame_step = frame_step
        self.reset()
        self.gt_stats_path = gt_stats
        self.fixed_gt = load_stats(gt_stats) if gt_stats else None
        self.weights = provenance or {}
        self.identity = identity

    @property
    def name(self) -> str:
        return f"fid[inception-pool3,step{self.frame_step}]"

    def update(self, sample: ScoringSample) -> dict[str, float]:
        real = sample.gt_crops if sample.gt_crops is not None else sample.real_crops  # cross pairing: the target's
        if self.fixed_gt is None and real is None:
            raise StfbenchError("FID needs ground-truth crops or precomputed --gt-stats", sample.clip_id)
        pred = self.features(sample.pred_crops[:: self.frame_step])  # (n, D)
        gt = self.cached_gt(real[:: self.frame_step], self.gt_features) if self.fixed_gt is None else None
        self.pred.add(pred)
        if gt is not None:
            self.gt.add(gt["features"])
        return {}

    def gt_identity(self) -> dict[str, Any] | None:
        if self.identity is None:
            return None
        return {"metric": "fid", "features": self.identity, "dims": self.dims}

    def gt_moments(self) -> tuple[np.ndarray, np.ndarray, int | None] | None:
        """The `--gt-stats` file's moments when given, else the accumulated ground truth's."""
        return self.fixed_gt if self.fixed_gt is not None else super().gt_moments()

    def save_gt_stats(self, path: str) -> None:
        """Write the accumulated ground-truth statistics (pytorch-fid .npz format + sums)."""
        if self.fixed_gt is not None or self.gt.n < 2:
            raise StfbenchError("no ground-truth FID statistics were accumulated in this run", path)
        save_stats(path, self.gt)

    def settings(self) -> dict[str, Any]:
        return {
            "features": f"pytorch-fid InceptionV3 pool3 ({self.dims}-d)",
            "frame_step": self.frame_step,
            "pooling": "all sampled frames of all clips",
            "n_pred": self.pred.n,
            "n_gt": self.fixed_gt[2] if self.fixed_gt is not None else self.gt.n,
            "gt_stats": self.gt_stats_path,
            "weights": self.weights,
        }
