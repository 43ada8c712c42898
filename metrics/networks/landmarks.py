"""68-point facial landmarkers for LMD: dlib (HOG detector + shape predictor) and face-alignment 2D-FAN.

A landmarker maps one uint8 RGB frame (H, W, 3) to a (68, 2) float array of (x, y) pixels, or None when
no face is found.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from stfbench.errors import WeightsError

Landmarker = Callable[[np.ndarray], np.ndarray | None]


def dlib_landmarker(predictor_path: str | Path, upsample: int = 1) -> Landmarker:
    """ATVGnet's setting: `get_frontal_face_detector()` with `upsample` on the grayscale frame, the largest
    face, `shape_predictor_68_face_landmarks.dat`."""
    return DlibLandmarker(predictor_path, upsample)


class DlibLandmarker:
    """The dlib landmarker as a picklable callable: a worker process loads the predictor again from its path."""

    def __init__(self, predictor_path: str | Path, upsample: int = 1) -> None:
        self.predictor_path = str(predictor_path)
        self.upsample = upsample
        self._load()

    def _load(self) -> None:
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        try:
            self._predictor = dlib.shape_predictor(self.predictor_path)
        except RuntimeError as error:
            raise WeightsError(f"not a dlib shape predictor ({error})", self.predictor_path) from None

    def __getstate__(self) -> dict[str, object]:
        return {"predictor_path": self.predictor_path, "upsample": self.upsample}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._load()

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        import cv2

        gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        faces = self._detector(gray, self.upsample)
        if len(faces) == 0:
            return None
        face = max(faces, key=lambda r: r.width() * r.height())
        shape = self._predictor(gray, face)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)  # (68, 2)


def fan_landmarker(fan_path: str | Path, s3fd_path: str | Path, device: torch.device) -> Landmarker:
    """face-alignment 1.5 `FaceAlignment(TWO_D, compile=False)` with the verified local FAN and S3FD files
    (its loader is handed the local paths instead of downloading)."""
    import face_alignment
    from face_alignment import api

    def local_file(url: str, *args, **kwargs) -> str:
        if "2DFAN4" not in url:
            raise WeightsError(f"unexpected download request {url}")
        return str(fan_path)

    with mock.patch.object(api, "load_file_from_url", local_file):
        try:
            model = face_alignment.FaceAlignment(
                face_alignment.LandmarksType.TWO_D,
                device=str(device),
                compile=False,
                face_detector="sfd",
                face_detector_kwargs={"path_to_detector": str(s3fd_path)},
            )
        except RuntimeError as error:
            raise WeightsError(f"cannot load FAN/S3FD weights ({str(error).splitlines()[0]})", fan_path) from None

    def landmarks(frame: np.ndarray) -> np.ndarray | None:
        found = model.get_landmarks_from_image(np.ascontiguousarray(frame))
        if not found:
            return None
        return np.asarray(found[0][:, :2], np.float64)

    return landmarks
