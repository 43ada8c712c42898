"""Face-crop geometry shared by the runner and file-based adapters: crop whole frames at boxes, paste back.

Boxes are (T, 4) `x1, y1, x2, y2` in source-frame pixels (the prepared clip's `boxes`); crops are square
S×S images of those boxes.
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


def _clip_box(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Round a box to whole pixels inside the frame (at least one pixel wide and high)."""
    height, width = shape[:2]
    x1 = int(np.clip(round(float(box[0])), 0, width - 1))
    y1 = int(np.clip(round(float(box[1])), 0, height - 1))
    x2 = int(np.clip(round(float(box[2])), x1 + 1, width))
    y2 = int(np.clip(round(float(box[3])), y1 + 1, height))
    return x1, y1, x2, y2
