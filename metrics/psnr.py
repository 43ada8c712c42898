"""PSNR on face crops (↑, dB, [0, ∞); ∞ for identical frames).

PSNR = 10·log10(255² / MSE), MSE over all pixels and the three channels of one uint8 RGB frame (data
range 255), computed per frame with scikit-image; clip value = mean over frames, dataset value = mean
over all frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from stfbench.metrics.base import FrameMeanMetric


class PSNR(FrameMeanMetric):
    key = "psnr"

    @property
    def name(self) -> str:
        return "psnr"

    def frame_values(self, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.array([peak_signal_noise_ratio(g, p, data_range=255) for g, p in zip(gt, pred, strict=True)])

    def settings(self) -> dict[str, Any]:
        return {"data_range": 255, "colour": "RGB uint8", "per": "frame", "aggregate": "mean over frames"}
