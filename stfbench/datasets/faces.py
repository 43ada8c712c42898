"""Face detection per frame and the protocol's square face crop.

Detectors return one box per frame, (T, 4) float64 [x0, y0, x1, y1] in source pixels, NaN where no face was
found; with several faces the highest-scoring one is kept. `dlib` is dlib's HOG frontal-face detector
(offline, bundled with dlib); `s3fd` is face-alignment's S3FD with the registry-verified
`s3fd-619a316812.pth`; `none` treats the whole frame as the face (pre-cropped videos).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Protocol as TypingProtocol

import cv2
import numpy as np
import torch

if TYPE_CHECKING:
    from stfbench.protocols.spec import CropSpec


class FaceDetector(TypingProtocol):
    name: str

    def detect(self, frames: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 RGB → (T, 4) float64 boxes, NaN rows where no face was found."""


class WholeFrameDetector:
    """Every frame is the face (LRS2-style pre-cropped clips)."""

    name = "none"

    def detect(self, frames: np.ndarray) -> np.ndarray:
        height, width = frames.shape[1:3]
        return np.tile(np.array([0.0, 0.0, width, height]), (len(frames), 1))


class DlibHogDetector:
    """dlib's HOG + linear SVM frontal-face detector; frames larger than `max_side` are detected downscaled."""

    name = "dlib"

    def __init__(self, upsample: int = 1, max_side: int = 480) -> None:
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        self.upsample, self.max_side = upsample, max_side

    def detect(self, frames: np.ndarray) -> np.ndarray:
        boxes = np.full((len(frames), 4), np.nan)
        height, width = frames.shape[1:3]
        factor = min(1.0, self.max_side / max(height, width))
        for index, frame in enumerate(frames):
            image = (
                frame if factor == 1.0 else cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            )
            rectangles, scores, _ = self.detector.run(np.ascontiguousarray(image), self.upsample, 0.0)
            if len(rectangles):
                best = rectangles[int(np.argmax(scores))]
                boxes[index] = np.array([best.left(), best.top(), best.right() + 1, best.bottom() + 1]) / factor
        return boxes


class S3fdDetector:
    """face-alignment's S3FD (the Wav2Lip / face-alignment detector) on verified weights."""

    name = "s3fd"

    def __init__(
        self,
        device: torch.device,
        *,
        trust_unverified: bool = False,
        batch_size: int = 16,
        threshold: float = 0.5,
        max_side: int = 640,
    ) -> None:
        from face_alignment.detection.sfd.sfd_detector import SFDDetector

        from stfbench.weights import resolve_verified

        weight = resolve_verified("s3fd", trust_unverified=trust_unverified, needed_by="prepare (S3FD face crops)")
        self.weight = weight
        self.detector = SFDDetector(str(device), path_to_detector=str(weight.path), filter_threshold=threshold)
        self.batch_size, self.max_side = batch_size, max_side

    def detect(self, frames: np.ndarray) -> np.ndarray:
        boxes = np.full((len(frames), 4), np.nan)
        height, width = frames.shape[1:3]
        factor = min(1.0, self.max_side / max(height, width))
        for start in range(0, len(frames), self.batch_size):
            chunk = frames[start : start + self.batch_size]
            if factor != 1.0:
                chunk = np.stack(
                    [cv2.resize(f, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) for f in chunk]
                )
            batch = torch.from_numpy(np.ascontiguousarray(chunk)).permute(0, 3, 1, 2)  # (B, 3, h, w) RGB
            for offset, detections in enumerate(self.detector.detect_from_batch(batch)):
                if len(detections):
                    best = max(detections, key=lambda d: d[4])
                    boxes[start + offset] = np.asarray(best[:4], dtype=np.float64) / factor
        return boxes


def make_detector(
    name: str, crop: CropSpec, device: torch.device | None = None, trust_unverified: bool = False
) -> FaceDetector:
    """The detector a crop spec names (`dlib`, `s3fd` or `none`)."""
    if name == "none":
        return WholeFrameDetector()
    if name == "dlib":
        return DlibHogDetector(upsample=crop.dlib_upsample)
    if name == "s3fd":
        return S3fdDetector(device or torch.device("cpu"), trust_unverified=trust_unverified)
    raise ValueError(f"unknown face detector {name!r}")


def smooth_boxes(boxes: np.ndarray, window: int) -> np.ndarray:
    """Fill frames without a face by linear interpolation between detections (edges: nearest detection),
    then average each coordinate over a centred window of `window` frames (shrunk at the clip ends).

    boxes: (T, 4) with NaN rows; at least one row must be finite.
    """
    found = np.isfinite(boxes).all(axis=1)  # (T,)
    frames = np.arange(len(boxes))
    filled = np.stack([np.interp(frames, frames[found], boxes[found, k]) for k in range(4)], axis=1)  # (T, 4)
    if window <= 1:
        return filled
    half = window // 2
    cumulative = np.vstack([np.zeros((1, 4)), np.cumsum(filled, axis=0)])  # (T + 1, 4)
    lo = np.clip(frames - half, 0, len(boxes))
    hi = np.clip(frames + window - half, 0, len(boxes))
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)[:, None]


def square_crop_boxes(boxes: np.ndarray, crop: CropSpec, frame_size: tuple[int, int]) -> np.ndarray:
    """(T, 4) integer-valued square crop boxes: side = scale · max(w, h) (at most the frame's shorter side),
    centre = box centre moved down by shift_y · side, then shifted to lie inside the frame."""
    height, width = frame_size
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    side = np.minimum(crop.scale * np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), min(height, width))
    side = np.maximum(np.round(side), 1)
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2 + crop.shift_y * side
    x0 = np.clip(np.round(centre_x - side / 2), 0, width - side)
    y0 = np.clip(np.round(centre_y - side / 2), 0, height - side)
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


def cut_crops(frames: np.ndarray, crop_boxes: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) frames + (T, 4) integer boxes → (T, size, size, 3) uint8 crops (OpenCV INTER_AREA)."""
    crops = np.empty((len(frames), size, size, 3), np.uint8)
    for index, (frame, box) in enumerate(zip(frames, crop_boxes.astype(int), strict=True)):
        x0, y0, x1, y1 = box
        crops[index] = cv2.resize(frame[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
    return crops
