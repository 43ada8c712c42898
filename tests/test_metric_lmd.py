"""LMD with the real dlib 68-point predictor on a real face photo (scikit-image's astronaut)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from stfbench.errors import NoFaceError
from stfbench.metrics import ScoringSample, build_metrics
from stfbench.metrics.lmd import mouth_distance


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """(160, 160, 3) uint8 RGB crop around the astronaut's face."""
    return cv2.resize(np.ascontiguousarray(data.astronaut()[36:206, 135:305]), (160, 160))


def _stretch_mouth(image: np.ndarray, amount: float) -> np.ndarray:
    """Scale rows around the mouth (y ≈ 0.74 of the crop) vertically by 1 + amount (a mouth opening)."""
    h, w = image.shape[:2]
    centre = 0.74 * h
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    weight = np.exp(-(((ys - centre) / (0.08 * h)) ** 2) - ((xs - w / 2) / (0.2 * w)) ** 2)
    source_y = ys - weight * (ys - centre) * amount / (1 + amount)
    return cv2.remap(image, xs, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_lmd_zero_for_identical_and_grows_with_mouth_perturbation(face):
    (lmd,) = build_metrics("lmd", None, "cpu")
    clip = np.stack([face, face])
    assert lmd.update(ScoringSample("same", clip, clip))["lmd"] == 0.0
    small = lmd.update(ScoringSample("s", np.stack([_stretch_mouth(face, 0.15)] * 2), clip))["lmd"]
    large = lmd.update(ScoringSample("l", np.stack([_stretch_mouth(face, 0.4)] * 2), clip))["lmd"]
    assert 0 < small < large
    assert lmd.compute()["lmd"] == pytest.approx((0 + small + large) / 3)
    assert lmd.name == "lmd[dlib]"


def test_lmd_counts_frames_without_face_and_fails_clip_without_any(face):
    (lmd,) = build_metrics("lmd", {"lmd": {"image_size": 192}}, "cpu")
    blank = np.full_like(face, 128)
    values = lmd.update(ScoringSample("a", np.stack([face, blank]), np.stack([face, face])))
    assert values["lmd_frames_no_face"] == 1 and values["lmd"] == 0.0
    with pytest.raises(NoFaceError):
        lmd.update(ScoringSample("b", np.stack([blank]), np.stack([blank])))
    assert lmd.settings()["frames_no_face"] == 1 and lmd.settings()["image_size"] == 192


def test_mouth_distance_centres_each_set_and_sum_variant():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(68, 2)) * 10
    moved = points + np.array([5.0, -3.0])  # a pure translation is removed by the centring
    assert mouth_distance(points, moved) == pytest.approx(0.0, abs=1e-12)
    bent = points.copy()
    bent[60] += [3.0, 4.0]
    mean = mouth_distance(points, bent)
    assert mouth_distance(points, bent, "sum") == pytest.approx(20 * mean)
