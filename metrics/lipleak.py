"""LipLeak — how often a generated mouth is open (↓ under silent audio: 0 = no leakage; fraction, [0, 1]).

Per frame: the 68-point landmarks of the generated crop (the LMD landmarker and its settings) give the
inner-lip mouth aspect ratio MAR = (‖p61 − p67‖ + ‖p62 − p66‖ + ‖p63 − p65‖) / (3 · ‖p60 − p64‖): the mean
opening of the inner lips over their width (0 closed; about 0.2 mid-speech). A frame is *open* when MAR >
`threshold` (default 0.20). Reported: `lipleak`, the fraction of open frames, and `mar`, the mean MAR (↓
under silence), both pooled over all frames with a face; frames without one are counted, not scored.

Run with silent driving audio (`stfbench run --audio silent`), an open mouth can only come from the
reference frame or the pose input, not from the audio: KeySync's leakage test. The threshold was set on the
synthetic corpus, whose ground truth says when the mouth is closed: with dlib landmarks on its 96-px crops,
MAR > 0.20 on 0 % of silent frames and 57 % of speech frames (0.15: 6 % and 78 %; 0.25: 0 % and 36 %).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import cv2
import numpy as np

from stfbench.errors import NoFaceError, StfbenchError
from stfbench.metrics.base import Metric, ScoringSample
from stfbench.metrics.exact_sum import ExactSum
from stfbench.metrics.networks.landmarks import Landmarker


def inner_mouth_aspect_ratio(points: np.ndarray) -> float:
    """MAR of one (68, 2) landmark set (see the module docstring); 0 when the inner-lip width is 0."""
    opening = sum(float(np.linalg.norm(points[a] - points[b])) for a, b in ((61, 67), (62, 66), (63, 65)))
    width = float(np.linalg.norm(points[60] - points[64]))
    return opening / (3 * width) if width > 0 else 0.0


class LipLeak(Metric):
    keys = ("lipleak", "mar")
    count_keys: ClassVar[dict[str, str]] = {"lipleak_frames_no_face": "frames without a face (not in LipLeak)"}
    observed_settings = ("frames_scored", "frames_no_face")

    def __init__(
        self,
        landmarker: Landmarker,
        backend: str = "dlib",
        threshold: float = 0.20,
        image_size: int | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        if not 0 < threshold < 1:
            raise StfbenchError(f"LipLeak threshold {threshold}: expected a mouth aspect ratio in (0, 1)")
        self.landmarker = landmarker
        self.backend = backend
        self.threshold = threshold
        self.image_size = image_size
        self.weights = provenance or {}
        self.reset()

    @property
    def name(self) -> str:
        return f"lipleak[{self.backend},mar>{self.threshold:.2f}]"

    def reset(self) -> None:
        self.open_frames = 0
        self.mar_total = ExactSum()
        self.frames = 0
        self.frames_no_face = 0

    def frame_ratios(self, sample: ScoringSample) -> tuple[list[float], int]:
        """The MAR of every generated frame with a face, and how many frames have none (its clip stage)."""
        ratios, missing = [], 0
        for frame in sample.pred_crops:
            if self.image_size is not None and frame.shape[:2] != (self.image_size, self.image_size):
                frame = cv2.resize(frame, (self.image_size, self.image_size), interpolation=cv2.INTER_LINEAR)
            points = self.landmarker(frame)
            if points is None:
                missing += 1
            else:
                ratios.append(inner_mouth_aspect_ratio(points))
        return ratios, missing

    def clip_stage(self) -> Callable[[ScoringSample], tuple[list[float], int]]:
        return self.frame_ratios

    def update(self, sample: ScoringSample) -> dict[str, float]:
        ratios, missing = self.staged(sample, self.frame_ratios)
        if not ratios:
            raise NoFaceError(f"LipLeak: no generated frame with a face ({missing} frames)", sample.clip_id)
        opened = sum(r > self.threshold for r in ratios)
        self.open_frames += opened
        self.mar_total.add(ratios)
        self.frames += len(ratios)
        self.frames_no_face += missing
        values = {"lipleak": opened / len(ratios), "mar": float(np.mean(ratios))}
        return {**values, "lipleak_frames_no_face": float(missing)}

    def compute(self) -> dict[str, float]:
        if not self.frames:
            return {"lipleak": float("nan"), "mar": float("nan")}
        return {"lipleak": self.open_frames / self.frames, "mar": self.mar_total.value / self.frames}

    def state_dict(self) -> dict[str, Any]:
        return {
            "open_frames": self.open_frames,
            "mar_total": self.mar_total.state(),
            "frames": self.frames,
            "frames_no_face": self.frames_no_face,
        }

    def merge(self, state: dict[str, Any]) -> None:
        self.open_frames += int(state["open_frames"])
        self.mar_total.merge(ExactSum(state["mar_total"]))
        self.frames += int(state["frames"])
        self.frames_no_face += int(state["frames_no_face"])

    def settings(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "mouth_aspect_ratio": "(|p61-p67| + |p62-p66| + |p63-p65|) / (3 |p60-p64|), inner lips of 68 points",
            "threshold": self.threshold,
            "image_size": self.image_size,
            "pooling": "all generated frames with a face",
            "frames_scored": self.frames,
            "frames_no_face": self.frames_no_face,
            "weights": self.weights,
        }
