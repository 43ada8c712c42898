"""Per-clip ground truth (`<clip>.json` next to `<clip>.mp4`) and its reader.

Fields: speaker, transcript, words [[WORD, start_s, end_s]], fps, sample_rate, num_frames,
phonemes [[symbol, start_s, end_s]] covering [0, duration] (silence included), landmarks T×68×2 (iBUG
68-point convention, output pixel coordinates with pixel centres at integers, 2 decimals), articulation
{jaw, spread, protrusion, closure: T values} at frame centres, blink (T), head_pose (T×4), identity, split,
flag (LRS2 test flag or null), seed (corpus seed), clip_seed, spec_hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stfbench.errors import DecodeError
from stfbench.synth.articulation import ARTICULATION_PARAMS


@dataclass(frozen=True)
class ClipTruth:
    """Exact ground truth of one synthetic clip."""

    path: Path
    speaker: str
    transcript: str
    words: list[tuple[str, float, float]]
    phonemes: list[tuple[str, float, float]]  # (symbol, start_s, end_s), contiguous over the clip
    landmarks: np.ndarray  # (T, 68, 2) float32 pixel coordinates
    articulation: np.ndarray  # (T, 4) float32 [jaw, spread, protrusion, closure]
    fps: float
    sample_rate: int
    num_frames: int
    split: str
    seed: int
    raw: dict[str, Any]

    def frame_phonemes(self) -> list[str]:
        """The phoneme symbol sounding at each frame's centre time (i + 0.5) / fps, length T."""
        starts = np.array([start for _, start, _ in self.phonemes])
        centres = (np.arange(self.num_frames) + 0.5) / self.fps
        index = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(self.phonemes) - 1)
        return [self.phonemes[i][0] for i in index]


def truth_path(video_path: str | Path) -> Path:
    return Path(video_path).with_suffix(".json")


def load_ground_truth(video_path: str | Path) -> ClipTruth:
    """Read `<clip>.json` for a synthetic clip `<clip>.mp4` (or the json path itself)."""
    path = truth_path(video_path)
    if not path.exists():
        raise DecodeError("no synthetic ground truth next to the clip (expected <clip>.json)", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        landmarks = np.asarray(data["landmarks"], np.float32)
        articulation = np.stack([np.asarray(data["articulation"][k], np.float32) for k in ARTICULATION_PARAMS], 1)
        truth = ClipTruth(
            path=path,
            speaker=str(data["speaker"]),
            transcript=str(data["transcript"]),
            words=[(str(w), float(s), float(e)) for w, s, e in data["words"]],
            phonemes=[(str(p), float(s), float(e)) for p, s, e in data["phonemes"]],
            landmarks=landmarks,
            articulation=articulation,
            fps=float(data["fps"]),
            sample_rate=int(data["sample_rate"]),
            num_frames=int(data["num_frames"]),
            split=str(data["split"]),
            seed=int(data["seed"]),
            raw=data,
        )
    except (ValueError, KeyError, TypeError) as error:
        raise DecodeError(f"malformed synthetic ground truth ({type(error).__name__}: {error})", path) from None
    if landmarks.shape != (truth.num_frames, 68, 2) or articulation.shape != (truth.num_frames, 4):
        raise DecodeError(
            f"ground truth shapes {landmarks.shape}/{articulation.shape} ≠ {truth.num_frames} frames", path
        )
    return truth
