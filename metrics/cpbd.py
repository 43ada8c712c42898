"""CPBD — cumulative probability of blur detection (Narvekar & Karam 2011) on the generated face crops (↑
sharper; fraction, [0, 1]; 0 for an image without a measurable edge).

Per frame, on the grayscale crop (OpenCV RGB→gray, 0–255 as float64), following the authors' MATLAB code
(`CPBD_compute.m`, Narvekar 2009), vectorised:

1. Edge blocks: 64×64 blocks in which MATLAB-default Canny (σ = √2, high threshold at the 70 % point of the
   64-bin gradient-magnitude histogram, low = 0.4 · high; scikit-image's Canny) marks more than 0.2 % of the
   pixels. The block grid is centred on the crop (the reference starts it at the top-left corner; face
   crops are rarely a multiple of 64 px, and the face sits in the middle).
2. Edge widths (Marziliano et al.): `edge(I, 'Sobel', 2, 'vertical')` — squared horizontal Sobel response
   (kernel / 8) above 2², maxima along the row; at each such pixel whose gradient direction (`np.gradient`,
   atan2, rounded to 45°) is 0° or 180°, the width is the number of pixels between the intensity extrema on
   either side along the row (strictly monotone runs, at most 101 px each side).
3. Per edge: P_blur = 1 − exp(−(w / w_JNB)^β), β = 3.6, just-noticeable width w_JNB = 5 px when the
   block's contrast (max − min) is ≤ 50, else 3 px. CPBD = the fraction of edges of all edge blocks with
   P_blur ≤ 63 % (P_blur rounded to whole percent, as the reference's histogram does).

The `cpbd` PyPI package (1.0.7) is not used: it no longer imports (`scipy.ndimage.imread` was removed in
SciPy 1.2), its Sobel threshold compares the squared response with 2·sqrt(mean) instead of the reference's
fixed 2², its Canny thresholds are absolute, and it loops per pixel in Python (≈ 10× slower). One fix to the
reference: a pixel whose horizontal gradient is 0 has angle ±90° (the reference leaves it at 0° and
measures it). Clip value = mean over the clip's frames (every `frame_step`-th); dataset value = mean over
clips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from stfbench.errors import StfbenchError
from stfbench.metrics.base import Metric, ScoringSample
from stfbench.metrics.exact_sum import ExactSum

BLOCK = 64
SOBEL_THRESHOLD = 2.0  # gray levels per pixel (the reference code's `edge(..., 'Sobel', 2, 'vertical')`)
EDGE_BLOCK_RATIO = 0.002
BETA = 3.6
P_JNB_PERCENT = 63
MAX_MARGIN = 100


def _round(values: np.ndarray) -> np.ndarray:
    """MATLAB's `round`: halves away from zero (NumPy rounds them to even)."""
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def _runs(steps: np.ndarray) -> np.ndarray:
    """(H, W) int: for each column j, how many consecutive True values of the (H, W) boolean `steps` end at
    j (0 when steps[:, j] is False)."""
    index = np.arange(steps.shape[1])
    last_false = np.maximum.accumulate(np.where(steps, -1, index[None, :]), axis=1)  # (H, W)
    return index[None, :] - last_false


def sobel_edges(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: MATLAB `edge(image, 'Sobel', 2, 'vertical')` of a float64 grayscale image (H, W) in 0–255:
    the squared horizontal Sobel response (kernel / 8) above 2², thinned to maxima along the row."""
    from scipy.ndimage import correlate

    kernel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    strength = correlate(image, kernel, mode="nearest") ** 2  # (H, W)
    left = np.pad(strength, ((0, 0), (1, 0)), constant_values=np.inf)[:, :-1]  # strength[:, j − 1]
    right = np.pad(strength, ((0, 0), (0, 1)), constant_values=np.inf)[:, 1:]  # strength[:, j + 1]
    return (strength > SOBEL_THRESHOLD**2) & (strength > left) & (strength >= right)


def canny_edges(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: Canny edges with MATLAB `edge(image, 'canny')`'s defaults: σ = √2, high threshold the upper
    edge of the 64-bin magnitude-histogram bin where 70 % of the pixels are reached, low = 0.4 · high."""
    from scipy.ndimage import gaussian_filter, sobel
    from skimage.feature import canny

    smoothed = gaussian_filter(image, np.sqrt(2), mode="nearest")
    magnitude = np.hypot(sobel(smoothed, axis=0), sobel(smoothed, axis=1))  # (H, W), skimage's scale
    peak = magnitude.max()
    if peak == 0:
        return np.zeros(image.shape, bool)
    counts, _ = np.histogram(magnitude / peak, bins=64, range=(0.0, 1.0))
    high = (np.argmax(np.cumsum(counts) > 0.7 * magnitude.size) + 1) / 64 * peak
    return canny(image, sigma=np.sqrt(2), low_threshold=0.4 * high, high_threshold=high)


def edge_widths(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 edge widths in pixels (Marziliano et al.) at the Sobel edge pixels whose gradient is
    horizontal (0 elsewhere) of a float64 grayscale image (H, W) in 0–255."""
    edges = sobel_edges(image)
    gy, gx = np.gradient(image)
    angle = 45 * _round(np.degrees(np.arctan2(gy, gx)) / 45)  # (H, W) in {−180, …, 180}
    rising, falling = angle == 0, np.abs(angle) == 180
    diff = np.diff(image, axis=1)  # (H, W−1): image[:, j+1] − image[:, j]
    up_to = _runs(np.pad(diff > 0, ((0, 0), (1, 0))))  # strict rises ending at column j
    down_to = _runs(np.pad(diff < 0, ((0, 0), (1, 0))))  # strict falls ending at column j
    up_from = _runs((np.pad(diff > 0, ((0, 0), (0, 1))))[:, ::-1])[:, ::-1]  # strict rises starting at j
    down_from = _runs((np.pad(diff < 0, ((0, 0), (0, 1))))[:, ::-1])[:, ::-1]  # strict falls starting at j
    widths = np.zeros_like(image)
    inner = np.zeros(image.shape, bool)
    inner[1:-1, 1:-1] = True

    def side(runs: np.ndarray, shift: int) -> np.ndarray:
        return 1 + np.minimum(np.roll(runs, shift, axis=1), MAX_MARGIN)  # runs at column j − shift

    widths = np.where(edges & inner & rising, side(up_to, 1) + side(up_from, -1), widths)
    widths = np.where(edges & inner & falling, side(down_to, 1) + side(down_from, -1), widths)
    return widths


def cpbd(gray: np.ndarray) -> float:
    """CPBD of one grayscale image (H, W), uint8 or float in 0–255 (see the module docstring)."""
    image = np.asarray(gray, np.float64)
    height, width = image.shape
    rows, cols = height // BLOCK, width // BLOCK
    if rows == 0 or cols == 0:
        raise StfbenchError(f"CPBD needs images of at least {BLOCK}×{BLOCK} px, got {width}×{height}")
    top, left = (height - rows * BLOCK) // 2, (width - cols * BLOCK) // 2
    edges = canny_edges(image)  # (H, W) bool
    widths = edge_widths(image)
    below, total = 0, 0
    for i in range(rows):
        for j in range(cols):
            block = (slice(top + i * BLOCK, top + (i + 1) * BLOCK), slice(left + j * BLOCK, left + (j + 1) * BLOCK))
            if np.count_nonzero(edges[block]) <= BLOCK * BLOCK * EDGE_BLOCK_RATIO:
                continue
            block_widths = widths[block][widths[block] != 0]
            contrast = int(image[block].max() - image[block].min())
            jnb = 5.0 if contrast <= 50 else 3.0
            p_blur = 1 - np.exp(-(np.abs(block_widths / jnb) ** BETA))
            below += int(np.count_nonzero(_round(p_blur * 100) <= P_JNB_PERCENT))
            total += len(block_widths)
    return below / total if total else 0.0


def crop_sharpness(crops: np.ndarray, frame_step: int = 1) -> list[float]:
    """CPBD of every `frame_step`-th uint8 RGB crop (T, S, S, 3), on its grayscale version."""
    import cv2

    return [cpbd(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)) for frame in crops[::frame_step]]


class CPBD(Metric):
    keys = ("cpbd",)
    observed_settings = ("clips", "frames_scored")

    def __init__(self, frame_step: int = 1) -> None:
        if frame_step < 1:
            raise StfbenchError(f"CPBD frame_step must be ≥ 1, got {frame_step}")
        self.frame_step = frame_step
        self.reset()

    @property
    def name(self) -> str:
        step = f",step{self.frame_step}" if self.frame_step != 1 else ""
        return f"cpbd[crop,gray{step}]"

    def reset(self) -> None:
        self.total = ExactSum()
        self.clips = 0
        self.frames = 0

    def frame_values(self, sample: ScoringSample) -> list[float]:
        """CPBD of the sampled generated frames (its clip stage)."""
        return crop_sharpness(sample.pred_crops, self.frame_step)

    def clip_stage(self) -> Callable[[ScoringSample], list[float]]:
        return self.frame_values

    def update(self, sample: ScoringSample) -> dict[str, float]:
        values = self.staged(sample, self.frame_values)
        value = float(np.mean(values))
        self.total.add([value])
        self.clips += 1
        self.frames += len(values)
        return {"cpbd": value}

    def compute(self) -> dict[str, float]:
        return {"cpbd": self.total.value / self.clips if self.clips else float("nan")}

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total.state(), "clips": self.clips, "frames": self.frames}

    def merge(self, state: dict[str, Any]) -> None:
        self.total.merge(ExactSum(state["total"]))
        self.clips += int(state["clips"])
        self.frames += int(state["frames"])

    def settings(self) -> dict[str, Any]:
        return {
            "definition": "Narvekar & Karam CPBD, the authors' MATLAB code vectorised (deviations: module docstring)",
            "input": "generated face crop, OpenCV RGB->gray",
            "blocks": f"{BLOCK}x{BLOCK}, centred grid, edge block: MATLAB Canny > {EDGE_BLOCK_RATIO:.1%} of pixels",
            "widths": "Marziliano, at edge(I, 'Sobel', 2, 'vertical') pixels with a horizontal gradient",
            "jnb_width": "5 px if block contrast <= 50 else 3 px",
            "beta": BETA,
            "p_blur_max": P_JNB_PERCENT / 100,
            "frame_step": self.frame_step,
            "aggregate": "mean over frames per clip, mean over clips",
            "clips": self.clips,
            "frames_scored": self.frames,
        }
