"""Face-crop geometry shared by the runner and file-based adapters: crop whole frames at boxes, paste back.

Boxes are (T, 4) `x1, y1, x2, y2` in source-frame pixels (the prepared clip's `boxes`); crops are square
S×S images of those boxes. `paste_crops` replaces the whole box (what the runner's full-frame metrics see);
`paste_lower_faces` blends in only the lower half that a masked-lower-half model regenerates (`generate`).
"""

from __future__ import annotations

import cv2
import numpy as np


def crop_frames(frames: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 frames + (T, 4) boxes → (T, size, size, 3) uint8 crops (area filter)."""
    crops = []
    for frame, box in zip(frames, boxes, strict=True):
        x1, y1, x2, y2 = _clip_box(box, frame.shape)
        crops.append(cv2.resize(frame[y1:y2, x1:x2], (size, size), interpolation=cv2.INTER_AREA))
    return np.stack(crops)


def paste_crops(frames: np.ndarray, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Paste (T, S, S, 3) crops into copies of (T, H, W, 3) frames at (T, 4) boxes (bilinear resize)."""
    out = frames.copy()
    for frame, crop, box in zip(out, crops, boxes, strict=True):
        x1, y1, x2, y2 = _clip_box(box, frame.shape)
        frame[y1:y2, x1:x2] = cv2.resize(crop, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    return out


def lower_face_alpha(height: int, width: int, feather: float = 0.05) -> np.ndarray:
    """(height, width) float32 blend weight of the generated pixels in a face box: 0 on the upper half
    (rows < height // 2), rising smoothly over the next `feather` · height rows, and falling to near 0 over
    `feather` · width columns at the left and right edges and `feather` · height rows at the bottom."""
    if not 0 < feather <= 0.25:
        raise ValueError(f"feather {feather}: expected a fraction of the box in (0, 0.25]")
    rows = np.arange(height, dtype=np.float32) + 0.5  # pixel centres
    cols = np.arange(width, dtype=np.float32) + 0.5
    ramp_y, ramp_x = max(1.0, feather * height), max(1.0, feather * width)
    top = _smoothstep((rows - height // 2) / ramp_y)  # (height,) 0 above the seam, 1 below it
    bottom = _smoothstep((height - rows) / ramp_y)
    sides = _smoothstep(cols / ramp_x) * _smoothstep((width - cols) / ramp_x)  # (width,)
    return (top * bottom)[:, None] * sides[None, :]


def paste_lower_faces(frames: np.ndarray, crops: np.ndarray, boxes: np.ndarray, feather: float = 0.05) -> np.ndarray:
    """Blend the lower half of (T, S, S, 3) generated crops into copies of (T, H, W, 3) uint8 frames at
    (T, 4) boxes with `lower_face_alpha`; the upper face and everything outside the box stay the source's."""
    out = frames.copy()
    for frame, crop, box in zip(out, crops, boxes, strict=True):
        x1, y1, x2, y2 = _clip_box(box, frame.shape)
        generated = cv2.resize(crop, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)  # (h, w, 3)
        alpha = lower_face_alpha(y2 - y1, x2 - x1, feather)[..., None]  # (h, w, 1)
        source = frame[y1:y2, x1:x2].astype(np.float32)
        frame[y1:y2, x1:x2] = np.rint(source + alpha * (generated.astype(np.float32) - source)).astype(np.uint8)
    return out


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """3t² − 2t³ of t clipped to [0, 1]: 0 for t ≤ 0, 1 for t ≥ 1, monotone in between."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _clip_box(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Round a box to whole pixels inside the frame (at least one pixel wide and high)."""
    height, width = shape[:2]
    x1 = int(np.clip(round(float(box[0])), 0, width - 1))
    y1 = int(np.clip(round(float(box[1])), 0, height - 1))
    x2 = int(np.clip(round(float(box[2])), x1 + 1, width))
    y2 = int(np.clip(round(float(box[3])), y1 + 1, height))
    return x1, y1, x2, y2
