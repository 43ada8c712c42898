"""Face geometry in output pixels: the canonical frame, identity shape changes, articulation → 68 landmarks.

Canonical frame (image size S): the outer eye corners (points 36, 45) lie on y = 0.36 S, 0.38 S apart,
centred at x = 0.5 S — a face-centred crop like LRS2's 160×160 clips, chin near 0.85 S.

Mouth model (units of hw = half the mouth width at rest): from the identity's *closed* neutral mouth,
- lip width scales by 1 + 0.12·spread − 0.22·protrusion about the mouth centre,
- the lips part by g = hw·(0.06 + 0.9·jaw)·(1 − closure) with an elliptical profile across the mouth; the
  upper lip rises 0.22 g, the lower lip drops 0.78 g, the corners drop 0.15 g,
- the jaw line (points 2–14, weighted toward the chin) drops 0.8 g and narrows slightly as it opens.
Blinks move the upper eyelid points 85 % (and the lower 15 %) of the way to each other.
"""

from __future__ import annotations

import numpy as np

from stfbench.synth.identity import FaceShape

EYE_LINE_Y = 0.36
OUTER_EYE_DISTANCE = 0.38

UPPER_LIP = np.array([49, 50, 51, 52, 53, 61, 62, 63])
LOWER_LIP = np.array([55, 56, 57, 58, 59, 65, 66, 67])
CORNERS = np.array([48, 54, 60, 64])
MOUTH = np.arange(48, 68)
INNER_PAIRS = ((61, 67), (62, 66), (63, 65))
EYELID_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))
JAW = np.arange(2, 15)
_JAW_WEIGHT = np.clip(1.0 - np.abs(JAW - 8) / 6.0, 0.0, None) ** 1.5  # (13,) 1 at the chin


def similarity_to_canonical(landmarks: np.ndarray, size: int) -> np.ndarray:
    """2×3 similarity that puts the outer eye corners of `landmarks` (68, 2) on the canonical positions."""
    left, right = landmarks[36], landmarks[45]
    target_left = np.array([0.5 - OUTER_EYE_DISTANCE / 2, EYE_LINE_Y]) * size
    target_right = np.array([0.5 + OUTER_EYE_DISTANCE / 2, EYE_LINE_Y]) * size
    source_vec, target_vec = right - left, target_right - target_left
    scale = np.linalg.norm(target_vec) / np.linalg.norm(source_vec)
    angle = np.arctan2(target_vec[1], target_vec[0]) - np.arctan2(source_vec[1], source_vec[0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, (target_left - rotation @ left)[:, None]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2×3 (or batched (T, 2, 3)) affine matrix to points (..., N, 2)."""
    return points @ np.swapaxes(matrix[..., :, :2], -1, -2) + matrix[..., None, :, 2]


def close_mouth(landmarks: np.ndarray) -> np.ndarray:
    """Move both lips toward each other until the inner lip points meet (the rest pose of the mouth)."""
    closed = landmarks.copy()
    xs = [landmarks[60, 0]] + [landmarks[upper, 0] for upper, _ in INNER_PAIRS] + [landmarks[64, 0]]
    gaps = [0.0] + [landmarks[lower, 1] - landmarks[upper, 1] for upper, lower in INNER_PAIRS] + [0.0]
    order = np.argsort(xs)
    half_gap = 0.5 * np.interp(landmarks[MOUTH, 0], np.array(xs)[order], np.array(gaps)[order])  # (20,)
    shift = np.zeros(68)
    shift[MOUTH] = half_gap
    closed[UPPER_LIP, 1] += shift[UPPER_LIP]
    closed[LOWER_LIP, 1] -= shift[LOWER_LIP]
    for upper, lower in INNER_PAIRS:
        closed[[upper, lower]] = closed[[upper, lower]].mean(axis=0)
    return closed


def reshape_identity(landmarks: np.ndarray, size: int, shape: FaceShape) -> np.ndarray:
    """Identity geometry on canonical landmarks (68, 2): face width, lower-face length, eye spacing, nose
    length, mouth width and height (each a factor near 1, or an offset in units of S for `mouth_shift`)."""
    out = landmarks.copy()
    centre_x = landmarks[27:31, 0].mean()
    eye_y = landmarks[36:48, 1].mean()
    out[0:17, 0] = centre_x + (out[0:17, 0] - centre_x) * shape.face_width
    lower = out[:, 1] > eye_y
    out[lower, 1] = eye_y + (out[lower, 1] - eye_y) * shape.jaw_length
    for eye, brow in ((slice(36, 42), slice(17, 22)), (slice(42, 48), slice(22, 27))):
        shift = (out[eye, 0].mean() - centre_x) * (shape.eye_spacing - 1.0)
        out[eye, 0] += shift
        out[brow, 0] += shift
    nose_top = out[27, 1]
    out[30:36, 1] = nose_top + (out[30:36, 1] - nose_top) * shape.nose_length
    mouth_centre = out[[48, 54]].mean(axis=0)
    out[MOUTH, 0] = mouth_centre[0] + (out[MOUTH, 0] - mouth_centre[0]) * shape.mouth_width
    out[MOUTH, 1] += shape.mouth_shift * size
    return out


def articulate(neutral: np.ndarray, articulation: np.ndarray, blink: np.ndarray) -> np.ndarray:
    """Landmarks (T, 68, 2) for articulation (T, 4) [jaw, spread, protrusion, closure] and blink (T,) ∈ [0, 1],
    from the closed neutral landmarks (68, 2)."""
    jaw, spread, protrusion, closure = articulation.T  # each (T,)
    frames = np.repeat(neutral[None], len(articulation), axis=0)  # (T, 68, 2)
    centre = neutral[[48, 54]].mean(axis=0)  # (2,)
    half_width = 0.5 * np.linalg.norm(neutral[54] - neutral[48])
    width = 1.0 + 0.12 * spread - 0.22 * protrusion  # (T,)
    frames[:, MOUTH, 0] = centre[0] + (neutral[MOUTH, 0] - centre[0])[None] * width[:, None]
    gap = half_width * (0.06 + 0.9 * jaw) * (1.0 - closure)  # (T,)
    across = np.clip((neutral[MOUTH, 0] - centre[0]) / half_width, -1.0, 1.0)  # (20,)
    profile = np.zeros(68)
    profile[MOUTH] = np.sqrt(1.0 - across**2)
    frames[:, UPPER_LIP, 1] -= 0.22 * gap[:, None] * profile[UPPER_LIP]
    frames[:, LOWER_LIP, 1] += 0.78 * gap[:, None] * profile[LOWER_LIP]
    frames[:, CORNERS, 1] += 0.15 * gap[:, None]
    drop = 0.8 * gap[:, None] * _JAW_WEIGHT[None]  # (T, 13)
    frames[:, JAW, 1] += drop
    frames[:, JAW, 0] -= 0.1 * drop * np.sign(neutral[JAW, 0] - neutral[8, 0])[None]
    for upper, lower in EYELID_PAIRS:
        opening = neutral[lower] - neutral[upper]  # (2,)
        frames[:, upper] += 0.85 * blink[:, None] * opening
        frames[:, lower] -= 0.15 * blink[:, None] * opening
    return frames


def head_pose_matrices(pose: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(T, 2, 3) similarity transforms from pose (T, 4) [roll (rad), scale − 1, dx (px), dy (px)] about `centre`."""
    roll, scale, dx, dy = pose.T
    cos, sin = np.cos(roll) * (1.0 + scale), np.sin(roll) * (1.0 + scale)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)  # (T, 2, 2)
    offset = centre[None] - rotation @ centre + np.stack([dx, dy], -1)  # (T, 2)
    return np.concatenate([rotation, offset[:, :, None]], axis=2)
