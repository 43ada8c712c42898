"""Paste-back of generated crops: `generate` blends only the lower face in, with a feathered seam."""

from __future__ import annotations

import numpy as np
import pytest

from stfbench.adapters.cropping import lower_face_alpha, paste_crops, paste_lower_faces


def test_alpha_is_zero_above_the_seam_one_in_the_core_and_monotone_across_the_seam():
    alpha = lower_face_alpha(100, 80, feather=0.05)  # ramps of 5 rows and 4 columns
    assert alpha.shape == (100, 80) and alpha.dtype == np.float32
    assert (alpha[:50] == 0).all()
    assert (alpha[55:95, 4:76] == 1).all()
    assert 0 < alpha[50, 40] < 1 and 0 < alpha[99, 40] < 1 and 0 < alpha[70, 0] < 1 and 0 < alpha[70, 79] < 1
    column = alpha[:, 40]
    assert (np.diff(column[:75]) >= 0).all() and (np.diff(column[75:]) <= 0).all()
    row = alpha[70]
    assert (np.diff(row[:40]) >= 0).all() and (np.diff(row[40:]) <= 0).all()
    with pytest.raises(ValueError, match="feather"):
        lower_face_alpha(100, 80, feather=0.0)


def test_paste_lower_faces_keeps_the_source_outside_the_lower_face():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 120, 160, 3), np.uint8)  # (T, H, W, 3)
    crops = rng.integers(0, 256, (2, 48, 48, 3), np.uint8)  # (T, S, S, 3)
    crops[1] = 200  # a flat crop: its resized pixels are exactly 200
    boxes = np.array([[20, 10, 116, 106], [40, 20, 136, 116]], np.float32)  # 96-px boxes
    out = paste_lower_faces(frames, crops, boxes)
    assert out.shape == frames.shape and out.dtype == np.uint8
    outside = np.ones((120, 160), bool)
    outside[20:116, 40:136] = False
    np.testing.assert_array_equal(out[1][outside], frames[1][outside])  # outside the box
    np.testing.assert_array_equal(out[1, 20:68, 40:136], frames[1, 20:68, 40:136])  # upper half of the box
    assert (out[1, 73:111, 45:131] == 200).all()  # the mask's core: generated pixels only
    # across the seam the result moves monotonically from the source's value to the generated one
    source_flat = frames.copy()
    source_flat[1] = 10
    column = paste_lower_faces(source_flat, crops, boxes)[1, 60:80, 88, 0].astype(int)
    assert column[0] == 10 and column[-1] == 200 and (np.diff(column) >= 0).all()
    assert np.abs(out[0].astype(int) - frames[0]).sum() > 0  # frame 0 was pasted too


def test_paste_crops_replaces_the_whole_box():
    frames = np.zeros((1, 64, 64, 3), np.uint8)
    out = paste_crops(frames, np.full((1, 16, 16, 3), 7, np.uint8), np.array([[8, 8, 40, 40]]))
    assert (out[0, 8:40, 8:40] == 7).all() and out.sum() == 7 * 32 * 32 * 3
