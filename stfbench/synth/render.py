"""Photographic face rendering: a portrait warped per identity and per frame, with a painted mouth interior.

Per identity (once): the portrait is scaled so its outer-eye distance matches the canonical frame, recoloured
(skin tone inside the face hull; hue/brightness of hair, clothes and background; a background texture outside
the head) and paired with its source control points: the 68 dlib landmarks plus forehead points, a ring around
the head and a fixed ring beyond the frame border. The target control points are the identity's reshaped,
closed-mouth landmarks in the canonical frame.

Per frame: the landmarks are articulated (geometry.articulate), moved by the small head motion (a similarity
about the nose tip; the outer ring stays put so the background is still), and the portrait is warped
piecewise-affinely onto them. The inner-lip polygon (points 60–67) is then painted as a dark mouth cavity
with upper teeth below the upper lip (and lower teeth when wide open), anti-aliased. The ground-truth
landmarks are exactly the warp's target landmark positions, in output pixel coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from stfbench.synth.geometry import (
    OUTER_EYE_DISTANCE,
    apply_affine,
    articulate,
    close_mouth,
    head_pose_matrices,
    reshape_identity,
    similarity_to_canonical,
)
from stfbench.synth.identity import Identity
from stfbench.synth.portraits import load_portrait
from stfbench.synth.warp import PiecewiseAffine, triangulate

_AA_SHIFT = 4  # sub-pixel bits for anti-aliased polygons
CAVITY_RGB = np.array([52.0, 16.0, 20.0])
TEETH_RGB = np.array([205.0, 196.0, 180.0])


@dataclass
class _Prepared:
    image: np.ndarray  # (H', W', 3) uint8 recoloured, scaled portrait
    src_points: np.ndarray  # (N, 2) control points in the portrait
    neutral: np.ndarray  # (68, 2) closed-mouth identity landmarks, canonical frame
    moving_extras: np.ndarray  # (E, 2) forehead + head-ring points that follow the head, canonical frame
    fixed_extras: np.ndarray  # (F, 2) ring beyond the frame border (static)
    warp: PiecewiseAffine


def _ellipse(centre: np.ndarray, radii: tuple[float, float], count: int) -> np.ndarray:
    angles = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
    return centre[None] + np.stack([radii[0] * np.cos(angles), radii[1] * np.sin(angles)], 1)


def _extras(canonical: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Forehead points and head ring (follow the head) and the border ring (fixed), canonical frame."""
    eye_distance = OUTER_EYE_DISTANCE * size
    brows = canonical[[17, 19, 24, 26]]
    brow_mid = canonical[[21, 22]].mean(axis=0, keepdims=True)
    forehead = np.concatenate([brows, brow_mid]) - np.array([0.0, 0.42 * eye_distance])
    centre = canonical[[27, 30]].mean(axis=0)
    head_ring = _ellipse(centre, (1.35 * eye_distance, 1.75 * eye_distance), 14)
    border = _ellipse(np.array([size / 2, size / 2]), (0.95 * size, 0.95 * size), 16)
    return np.concatenate([forehead, head_ring]), border


def _texture(pattern: str, shape: tuple[int, int], hue: float) -> np.ndarray | None:
    """A background texture (H, W, 3) float in [0, 255] tinted by `hue` (degrees), or None."""
    if pattern == "none":
        return None
    height, width = shape
    if pattern == "stripes":
        xs = np.arange(width)[None, :] + 0.5 * np.arange(height)[:, None]
        gray = 128.0 + 90.0 * np.sin(2.0 * np.pi * xs / 23.0)
    else:
        from skimage import data

        gray = cv2.resize(getattr(data, pattern)().astype(np.float32), (width, height))
    tint = cv2.cvtColor(np.uint8([[[int(hue / 2) % 180, 120, 255]]]), cv2.COLOR_HSV2RGB)[0, 0] / 255.0
    return gray[..., None] * tint[None, None]


def _recolour(image: np.ndarray, landmarks: np.ndarray, forehead: np.ndarray, identity: Identity, eye_distance: float):
    """Skin tone inside the face hull, hue/brightness elsewhere, texture outside the head ellipse."""
    height, width = image.shape[:2]
    pixels = image.astype(np.float32)
    hull = cv2.convexHull(np.concatenate([landmarks[:17], forehead]).astype(np.float32)).astype(np.int32)
    neck = np.concatenate(
        [
            landmarks[4:13],
            landmarks[[12, 4]] + [[-0.1 * eye_distance, 0.8 * eye_distance], [0.1 * eye_distance, 0.8 * eye_distance]],
        ]
    )
    skin = np.zeros((height, width), np.float32)
    cv2.fillPoly(skin, [hull, np.round(neck).astype(np.int32)], 1.0)
    skin = cv2.GaussianBlur(skin, (0, 0), 0.06 * eye_distance)[..., None]  # (H, W, 1)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = np.mod(hsv[..., 0] + identity.hue_shift / 2.0, 180.0)
    hsv[..., 2] = np.clip(hsv[..., 2] * identity.surround_gain, 0, 255)
    surround = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    texture = _texture(identity.pattern, (height, width), identity.hue_shift)
    if texture is not None:
        head = np.zeros((height, width), np.float32)
        centre = landmarks[[27, 30]].mean(axis=0) - np.array([0.0, 0.35 * eye_distance])
        axes = (int(1.25 * eye_distance), int(1.75 * eye_distance))
        cv2.ellipse(head, (int(centre[0]), int(centre[1])), axes, 0.0, 0.0, 360.0, 1.0, -1)
        outside = identity.pattern_alpha * (1.0 - cv2.GaussianBlur(head, (0, 0), 0.1 * eye_distance)[..., None])
        surround = surround * (1.0 - outside) + texture * outside
    gain = np.array(identity.skin_gain, np.float32)[None, None]
    result = skin * pixels * gain + (1.0 - skin) * surround
    return np.clip(result + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=16)
def prepare_identity(identity: Identity, size: int) -> _Prepared:
    """The identity's recoloured source image, control points and warp (cached per process)."""
    portrait = load_portrait(identity.portrait, identity.mirrored)
    scale = np.linalg.norm(similarity_to_canonical(portrait.landmarks, size)[:, 0])
    margin = 1.5 * size  # keep the scaled portrait small: crop to the face surroundings first
    height, width = portrait.image.shape[:2]
    centre = portrait.landmarks[[27, 30]].mean(axis=0)
    x0, y0 = (max(0, int(c - margin / scale)) for c in centre)
    x1, y1 = min(width, int(centre[0] + margin / scale)), min(height, int(centre[1] + margin / scale))
    crop = portrait.image[y0:y1, x0:x1]
    new_size = (round(crop.shape[1] * scale), round(crop.shape[0] * scale))
    image = cv2.resize(crop, new_size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    landmarks = (portrait.landmarks - [x0, y0] + 0.5) * scale - 0.5  # (68, 2) in the scaled crop
    to_canonical = similarity_to_canonical(landmarks, size)
    canonical = apply_affine(to_canonical, landmarks)
    moving, fixed = _extras(canonical, size)
    to_source = cv2.invertAffineTransform(to_canonical)
    src_points = np.concatenate([landmarks, apply_affine(to_source, moving), apply_affine(to_source, fixed)])
    forehead_src = src_points[68:73]
    image = _recolour(image, landmarks, forehead_src, identity, OUTER_EYE_DISTANCE * size)
    neutral = reshape_identity(close_mouth(canonical), size, identity.shape)
    half_open = articulate(neutral, np.array([[0.6, 0.0, 0.0, 0.0]]), np.zeros(1))[0]
    triangles = triangulate(np.concatenate([half_open, moving, fixed]))
    return _Prepared(image, src_points, neutral, moving, fixed, PiecewiseAffine(triangles, (size, size)))


def _fill(mask: np.ndarray, polygon: np.ndarray) -> None:
    fixed = np.round(polygon * (1 << _AA_SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 255, lineType=cv2.LINE_AA, shift=_AA_SHIFT)


def paint_mouth(frame: np.ndarray, landmarks: np.ndarray) -> None:
    """Paint the mouth cavity inside the inner lips (60–67) of `frame` (S, S, 3) uint8 in place: dark interior,
    upper teeth under the upper lip, lower teeth above the lower lip when the mouth is wide open."""
    inner = landmarks[60:68]  # (8, 2)
    gap = float(np.max(inner[5:8, 1] - inner[[3, 2, 1], 1]))  # lower minus upper inner lip, px
    if gap < 0.3:
        return
    x0, y0 = np.floor(inner.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(inner.max(axis=0)).astype(int) + 3
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    offset = np.array([x0, y0], np.float64)
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    cavity = np.zeros(roi.shape[:2], np.uint8)
    _fill(cavity, inner - offset)
    width = float(inner[4, 0] - inner[0, 0])
    teeth_height = min(0.09 * width, 0.35 * gap)
    upper_edge = inner[[0, 1, 2, 3, 4]] - offset
    teeth = np.zeros_like(cavity)
    _fill(teeth, np.concatenate([upper_edge, upper_edge[::-1] + np.array([0.0, teeth_height])]))
    if gap > 0.3 * width:
        lower_edge = inner[[4, 5, 6, 7, 0]] - offset
        _fill(teeth, np.concatenate([lower_edge, lower_edge[::-1] - np.array([0.0, 0.4 * teeth_height])]))
    centre_x = float(inner[[0, 4], 0].mean()) - x0
    columns = np.arange(x1 - x0, dtype=np.float32)
    front = np.clip((0.34 * width - np.abs(columns - centre_x)) / 1.5, 0.0, 1.0)  # teeth stop short of corners
    alpha_cavity = cavity.astype(np.float32)[..., None] / 255.0
    alpha_teeth = (np.minimum(teeth, cavity).astype(np.float32) / 255.0 * front[None, :])[..., None]
    shade = roi.mean() / 160.0  # darker faces → darker mouth
    interior = CAVITY_RGB * shade * (1.0 - alpha_teeth) + TEETH_RGB * min(1.0, 0.6 + 0.4 * shade) * alpha_teeth
    roi = roi * (1.0 - alpha_cavity) + interior * alpha_cavity
    frame[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)


def render_frames(
    identity: Identity, articulation: np.ndarray, blink: np.ndarray, pose: np.ndarray, size: int = 160
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, S, S, 3) uint8 and ground-truth landmarks (T, 68, 2) for articulation (T, 4), blink (T,)
    and head pose (T, 4) [roll rad, scale − 1, dx px, dy px]."""
    prepared = prepare_identity(identity, size)
    landmarks = articulate(prepared.neutral, articulation, blink)  # (T, 68, 2)
    matrices = head_pose_matrices(pose, prepared.neutral[30])  # (T, 2, 3)
    moving = apply_affine(
        matrices, np.concatenate([landmarks, np.repeat(prepared.moving_extras[None], len(pose), 0)], 1)
    )
    frames = np.empty((len(pose), size, size, 3), np.uint8)
    for t in range(len(pose)):
        dst = np.concatenate([moving[t], prepared.fixed_extras])
        frames[t] = prepared.warp.warp(prepared.image, prepared.src_points, dst)
        paint_mouth(frames[t], moving[t, :68])
    return frames, moving[:, :68]
