"""SSIM on face crops (↑, unitless, [−1, 1]; 1 for identical frames).

Computed per uint8 RGB frame with scikit-image's `structural_similarity` (data range 255, channels
averaged). The window/constants/covariance setting is always named in `settings()`; the default is the
Wang et al. 2004 setting (Gaussian σ 1.5, K1 0.01, K2 0.03, population covariance), which differs from
scikit-image's own defaults (7×7 uniform window, sample covariance). Clip value = mean over frames,
dataset value = mean over all frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

from stfbench.metrics.base import FrameMeanMetric
from stfbench.metrics.settings import SsimSettings


class SSIM(FrameMeanMetric):
    key = "ssim"

    def __init__(self, config: SsimSettings | None = None) -> None:
        super().__init__()
        self.config = config or SsimSettings()

    @property
    def name(self) -> str:
        c = self.config
        window = f"gaussian{c.sigma:g}" if c.gaussian_weights else f"uniform{c.win_size or 7}"
        return f"ssim[{window},{'sample' if c.use_sample_covariance else 'population'}]"

    def frame_values(self, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
        c = self.config
        options = {
            "data_range": 255,
            "channel_axis": -1,
            "gaussian_weights": c.gaussian_weights,
            "sigma": c.sigma,
            "K1": c.k1,
            "K2": c.k2,
            "use_sample_covariance": c.use_sample_covariance,
        }
        if c.win_size is not None:
            options["win_size"] = c.win_size
        return np.array([structural_similarity(g, p, **options) for g, p in zip(gt, pred, strict=True)])

    def settings(self) -> dict[str, Any]:
        c = self.config
        return {
            "window": "gaussian" if c.gaussian_weights else "uniform",
            "sigma": c.sigma if c.gaussian_weights else None,
            "win_size": c.win_size or (11 if c.gaussian_weights else 7),
            "K1": c.k1,
            "K2": c.k2,
            "covariance": "sample" if c.use_sample_covariance else "population",
            "data_range": 255,
            "colour": "RGB uint8, channel mean",
            "aggregate": "mean over frames",
        }
