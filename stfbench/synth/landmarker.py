"""dlib's frontal face detector + 68-point predictor, as the paper's landmark protocol uses them.

Used here to locate the base landmarks of each portrait once and to check the corpus against the
detection and mouth-landmark floors (`measure_landmark_floor`). The predictor file is the one shipped by
the `face_recognition_models` package (located without importing it: its `__init__` needs pkg_resources).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from stfbench.errors import WeightsError

MOUTH = slice(48, 68)
OUTER_EYE_CORNERS = (36, 45)


def predictor_path() -> Path:
    """`<face_recognition_models>/models/shape_predictor_68_face_landmarks.dat`."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("package face_recognition_models is not installed (pip install face_recognition_models)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.exists():
        raise WeightsError("dlib 68-point predictor file is missing", path)
    return path


@lru_cache(maxsize=1)
def _dlib_models():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(predictor_path()))


def detect_landmarks(image: np.ndarray, upsample: int = 1) -> np.ndarray | None:
    """68 iBUG landmarks (68, 2) float pixel coords of the largest face in an RGB uint8 image, or None."""
    detector, predictor = _dlib_models()
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    rects = detector(gray, upsample)
    if len(rects) == 0:
        return None
    rect = max(rects, key=lambda r: r.width() * r.height())
    shape = predictor(gray, rect)
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


@dataclass(frozen=True)
class FloorReport:
    """Detection rate (detected frames / frames, ↑) and mouth error (mean over detected frames of the mean
    distance of points 48–67 to the ground truth, divided by the ground-truth outer-eye-corner distance, ↓)."""

    frames: int
    detected: int
    mouth_error: float

    @property
    def detection_rate(self) -> float:
        return self.detected / self.frames if self.frames else 0.0


def measure_landmark_floor(frames: np.ndarray, landmarks: np.ndarray, upsample: int = 1) -> FloorReport:
    """Run dlib on frames (T, H, W, 3) uint8 and compare its mouth points with ground truth (T, 68, 2)."""
    errors = []
    for image, truth in zip(frames, landmarks, strict=True):
        found = detect_landmarks(image, upsample)
        if found is None:
            continue
        inter_ocular = np.linalg.norm(truth[OUTER_EYE_CORNERS[0]] - truth[OUTER_EYE_CORNERS[1]])
        errors.append(np.linalg.norm(found[MOUTH] - truth[MOUTH], axis=1).mean() / inter_ocular)
    mouth_error = float(np.mean(errors)) if errors else float("inf")
    return FloorReport(frames=len(frames), detected=len(errors), mouth_error=mouth_error)
