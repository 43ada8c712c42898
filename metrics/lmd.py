"""LMD — mouth landmark distance between generated and ground-truth frames (↓, pixels, [0, ∞); 0 if equal).

Per frame: 68-point landmarks of both frames (at `image_size`, resized with cv2 INTER_LINEAR, or the
crops' own size); mouth points 48–67; each set centred by its own mean (translation removed, no scale
normalisation); Euclidean distance per point; `mean` over the 20 points (default; the papers' definition)
or `sum` (ATVGnet's evaluation code). Clip value = mean over frames with a face in both; dataset value =
mean over all such frames. Frames where either face is not found are counted (`frames_no_face`), not
scored; a clip with no scorable frame fails with status `no-face`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import cv2
import numpy as np

from stfbench.errors import NoFaceError, StfbenchError
from stfbench.metrics.base import Metric, ScoringSample, paired_crops
from stfbench.metrics.exact_sum import ExactSum
from stfbench.metrics.networks.landmarks import Landmarker

MOUTH = slice(48, 68)
REDUCTIONS = ("mean", "sum")


def mouth_distance(gt_points: np.ndarray, pred_points: np.ndarray, reduction: str = "mean") -> float:
    """LMD of one frame from two (68, 2) landmark sets."""
    gt_mouth = gt_points[MOUTH] - gt_points[MOUTH].mean(axis=0)
    pred_mouth = pred_points[MOUTH] - pred_points[MOUTH].mean(axis=0)
    per_point = np.linalg.norm(gt_mouth - pred_mouth, axis=1)  # (20,)
    return float(per_point.sum() if reduction == "sum" else per_point.mean())


class LMD(Metric):
    keys = ("lmd",)
    count_keys: ClassVar[dict[str, str]] = {"lmd_frames_no_face": "frames without a face in both videos (not in LMD)"}
    observed_settings = ("image_size", "frames_scored", "frames_no_face")

    def __init__(
        self,
        landmarker: Landmarker,
        backend: str = "dlib",
        reduction: str = "mean",
        image_size: int | None = None,
        provenance: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
    ) -> None:
        if reduction not in REDUCTIONS:
            raise StfbenchError(f"unknown LMD reduction {reduction!r} (choose {', '.join(REDUCTIONS)})")
        self.landmarker = landmarker
        self.backend = backend
        self.reduction = reduction
        self.image_size = image_size
        self.weights = provenance or {}
        self.identity = identity
        self.sizes: set[int] = set()
        self.reset()

    def reset(self) -> None:
        self.total = ExactSum()
        self.frames = 0
        self.frames_no_face = 0

    @property
    def name(self) -> str:
        suffix = ",sum" if self.reduction == "sum" else ""
        return f"lmd[{self.backend}{suffix}]"

    def _points(self, frame: np.ndarray) -> np.ndarray | None:
        if self.image_size is not None and frame.shape[:2] != (self.image_size, self.image_size):
            frame = cv2.resize(frame, (self.image_size, self.image_size), interpolation=cv2.INTER_LINEAR)
        return self.landmarker(frame)

    def gt_identity(self) -> dict[str, Any] | None:
        if self.identity is None:
            return None
        return {"metric": "lmd", "landmarker": self.identity, "image_size": self.image_size}

    def gt_landmarks(self, gt: np.ndarray) -> dict[str, np.ndarray]:
        """`points` (T, 68, 2) float64 landmarks of ground-truth frames (T, S, S, 3) (NaN where no face was
        found) and `found` (T,) bool: the ground-truth side, cached per clip."""
        found = [self._points(frame) for frame in gt]
        points = np.full((len(gt), 68, 2), np.nan)  # (T, 68, 2)
        for index, frame_points in enumerate(found):
            if frame_points is not None:
                points[index] = frame_points
        return {"points": points, "found": np.array([p is not None for p in found], bool)}

    def frame_distances(self, sample: ScoringSample) -> tuple[list[float], int]:
        """The LMD of every frame with a face in both clips, and how many frames lack one (its clip stage)."""
        gt, pred = paired_crops(sample, "lmd")
        side = self.cached_gt(gt, self.gt_landmarks)
        values, missing = [], 0
        for gt_points, found, pred_frame in zip(side["points"], side["found"], pred, strict=True):
            pred_points = self._points(pred_frame) if found else None
            if pred_points is None:
                missing += 1
                continue
            values.append(mouth_distance(gt_points, pred_points, self.reduction))
        return values, missing

    def clip_stage(self) -> Callable[[ScoringSample], tuple[list[float], int]]:
        return self.frame_distances

    def update(self, sample: ScoringSample) -> dict[str, float]:
        values, missing = self.staged(sample, self.frame_distances)
        self.sizes.add(self.image_size or sample.gt_crops.shape[1])
        if not values:
            raise NoFaceError(f"LMD: no frame with a face in both clips ({missing} frames)", sample.clip_id)
        self.frames_no_face += missing
        self.total.add(values)
        self.frames += len(values)
        return {"lmd": float(np.mean(values)), "lmd_frames_no_face": float(missing)}

    def compute(self) -> dict[str, float]:
        return {"lmd": self.total.value / self.frames if self.frames else float("nan")}

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total.state(), "frames": self.frames, "frames_no_face": self.frames_no_face}

    def merge(self, state: dict[str, Any]) -> None:
        self.total.merge(ExactSum(state["total"]))
        self.frames += int(state["frames"])
        self.frames_no_face += int(state["frames_no_face"])

    def settings(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "points": "mouth 48-67 of 68, each set centred on its mean",
            "reduction": f"{self.reduction} over points, mean over frames",
            "image_size": self.image_size if self.image_size is not None else sorted(self.sizes) or "crop size",
            "frames_scored": self.frames,
            "frames_no_face": self.frames_no_face,
            "weights": self.weights,
        }
