"""The in-memory clip every stage passes around."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Clip:
    """A decoded talking-face clip.

    frames: (T, H, W, 3) uint8 RGB. audio: (N,) float32 mono in [-1, 1]. fps in frames/s,
    sample_rate in Hz.
    """

    frames: np.ndarray  # (T, H, W, 3) uint8
    audio: np.ndarray  # (N,) float32
    fps: float
    sample_rate: int
    path: Path | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        """Video duration in seconds."""
        return self.num_frames / self.fps

    @property
    def audio_duration(self) -> float:
        return len(self.audio) / self.sample_rate
