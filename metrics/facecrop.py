"""syncnet_python's face-track crop (`run_pipeline.py` `crop_video`) on in-memory frames.

One face per clip: the highest-scoring detection in each frame, frames without one linearly interpolated
(no 100-frame minimum track length, no scene cut detection). Box half-size s = max(w, h)/2 and centre,
each median-filtered (kernel 13); the frame is padded by ⌊s·(1 + 2·cs)⌋ with value 110; the crop is rows
[cy − s, cy + s·(1 + 2·cs)], columns [cx − s·(1 + cs), cx + s·(1 + cs)] (cs = crop scale 0.4), resized
to 224×224. Unlike syncnet_python the crop is not re-encoded (no XVID/JPEG round trip).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import cv2
import numpy as np

from stfbench.errors import NoFaceError

#: frame (H, W, 3) uint8 RGB → boxes (K, 5): x1, y1, x2, y2, score
Detector = Callable[[np.ndarray], np.ndarray]


def track_boxes(frames: np.ndarray, detector: Detector, clip_id: str | None = None) -> np.ndarray:
    """(T, 4) boxes of the best face per frame; gaps interpolated; NoFaceError when no frame has a face."""
    boxes = np.full((len(frames), 4), np.nan)
    for i, frame in enumerate(frames):
        found = detector(frame)
        if len(found):
            boxes[i] = found[np.argmax(found[:, 4]), :4]
    have = ~np.isnan(boxes[:, 0])
    if not have.any():
        raise NoFaceError("no face found in any frame (LSE facecrop)", clip_id)
    index = np.arange(len(frames))
    for col in range(4):
        boxes[:, col] = np.interp(index, index[have], boxes[have, col])
    return boxes


def crop_track(frames: np.ndarray, boxes: np.ndarray, crop_scale: float = 0.4, size: int = 224) -> np.ndarray:
    """(T, H, W, 3) uint8 + (T, 4) boxes → (T, size, size, 3) uint8 crops (same channel order as input)."""
    from scipy.signal import medfilt  # here: scoring LSE on whole frames never pays scipy.signal's import

    with warnings.catch_warnings():  # clips shorter than the kernel are zero-padded, as in syncnet_python
        warnings.filterwarnings("ignore", "kernel_size exceeds volume extent")
        half = medfilt(np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2, kernel_size=13)
        cy = medfilt((boxes[:, 1] + boxes[:, 3]) / 2, kernel_size=13)
        cx = medfilt((boxes[:, 0] + boxes[:, 2]) / 2, kernel_size=13)
    out = np.empty((len(frames), size, size, 3), np.uint8)
    for i, frame in enumerate(frames):
        s = half[i]
        pad = int(s * (1 + 2 * crop_scale))
        padded = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), "constant", constant_values=110)
        my, mx = cy[i] + pad, cx[i] + pad
        face = padded[
            int(my - s) : int(my + s * (1 + 2 * crop_scale)),
            int(mx - s * (1 + crop_scale)) : int(mx + s * (1 + crop_scale)),
        ]
        out[i] = cv2.resize(face, (size, size))
    return out


def dlib_hog_detector(upsample: int = 0) -> Detector:
    """dlib's HOG frontal face detector (offline; score = detector confidence)."""
    return DlibHogDetector(upsample)


class DlibHogDetector:
    """`dlib_hog_detector` as a picklable callable (a worker process builds the detector again)."""

    def __init__(self, upsample: int = 0) -> None:
        import dlib

        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()

    def __getstate__(self) -> dict[str, int]:
        return {"upsample": self.upsample}

    def __setstate__(self, state: dict[str, int]) -> None:
        self.__init__(state["upsample"])

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        rects, scores, _ = self._detector.run(frame, self.upsample)
        return np.array(
            [[r.left(), r.top(), r.right(), r.bottom(), s] for r, s in zip(rects, scores, strict=True)]
        ).reshape(-1, 5)


def s3fd_detector(weight_path, device, threshold: float = 0.9, scale: float = 0.25) -> Detector:
    """face-alignment's S3FD (`s3fd-619a316812.pth`) on the frame downscaled by `scale` (syncnet_python:
    0.25, confidence ≥ 0.9); boxes returned in full-frame pixels."""
    from face_alignment.detection.sfd.sfd_detector import SFDDetector

    sfd = SFDDetector(device=str(device), path_to_detector=str(weight_path), filter_threshold=threshold)

    def detect(frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, None, fx=scale, fy=scale) if scale != 1 else frame
        found = sfd.detect_from_image(small.copy())  # RGB; face-alignment flips to BGR itself
        boxes = np.array(found, np.float64).reshape(-1, 5)
        boxes[:, :4] /= scale
        return boxes[boxes[:, 4] >= threshold]

    return detect
