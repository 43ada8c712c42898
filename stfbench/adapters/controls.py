"""Control rows every table needs: floors and upper bounds that tell a reader what a metric can do.

- `static`: the reference frame repeated (no motion at all) — the floor for lip-sync and landmark metrics.
- `ground-truth`: the target video itself — the upper bound (PSNR undefined, SSIM 1, LMD 0).
- `shifted-audio --shift k`: the ground truth scored against its audio moved by k frames; LSE must report
  AV offset k while LSE-C/D stay near the ground truth (LSE searches the best offset within ±15).
- `mismatched-audio`: the ground-truth video scored against the audio of another test clip (a seeded
  derangement of the protocol's items) — the out-of-sync floor for LSE.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stfbench.adapters.base import AudioLookup, GenerationRequest, ModelAdapter
from stfbench.errors import ProtocolError


class StaticAdapter(ModelAdapter):
    """Repeats the first reference crop for every frame (no motion)."""

    name = "static"
    is_control = True

    def prepare(self, protocol: Any, device: torch.device) -> None:
        return None

    def generate(self, request: GenerationRequest) -> np.ndarray:
        return np.repeat(request.reference_crops[:1], request.num_frames, axis=0)  # (T, S, S, 3)


class GroundTruthAdapter(ModelAdapter):
    """Returns the target crops unchanged (the upper bound)."""

    name = "ground-truth"
    is_control = True
    uses_ground_truth_video = True

    def prepare(self, protocol: Any, device: torch.device) -> None:
        return None

    def generate(self, request: GenerationRequest) -> np.ndarray:
        return request.target_crops.copy()  # (T, S, S, 3)


class ShiftedAudioAdapter(GroundTruthAdapter):
    """Ground-truth video with its audio moved by `shift` frames.

    Positive k makes the audio k frames early (sample i of the new audio = old sample i + k·sr/fps, zeros
    after the end), which syncnet_python reports as AV offset +k; negative k delays it.
    """

    name = "shifted-audio"

    def __init__(self, shift: int = 3) -> None:
        self.shift = int(shift)

    @property
    def label(self) -> str:
        return f"shifted-audio (k={self.shift})"

    def driving_audio(self, request: GenerationRequest, audio_of: AudioLookup) -> np.ndarray:
        return shift_audio(request.audio, self.shift, request.fps, request.sample_rate)

    def provenance(self) -> dict[str, Any]:
        return {"model": self.name, "shift": self.shift}


class MismatchedAudioAdapter(GroundTruthAdapter):
    """Ground-truth video with the audio of another test clip.

    Donors come from the protocols' seeded derangement of the sorted item ids, so no clip keeps its own
    audio and the pairing does not depend on sharding."""

    name = "mismatched-audio"

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self._donors: dict[str, str] = {}

    def driving_audio(self, request: GenerationRequest, audio_of: AudioLookup) -> np.ndarray:
        item_ids = request.extras.get("protocol_item_ids")
        if not item_ids:
            raise ProtocolError("mismatched-audio needs the protocol's item list (extras['protocol_item_ids'])")
        if not self._donors:
            from stfbench.protocols import seeded_derangement

            ordered = sorted(set(item_ids))
            self._donors = dict(zip(ordered, seeded_derangement(ordered, self.seed), strict=True))
        donor = audio_of(self._donors[request.item_id])
        return fit_length(donor, len(request.audio))

    def provenance(self) -> dict[str, Any]:
        return {"model": self.name, "seed": self.seed}


def shift_audio(audio: np.ndarray, frames: int, fps: float, sample_rate: int) -> np.ndarray:
    """Move `audio` (N,) by `frames` video frames, keeping its length: positive = earlier, zero-filled."""
    samples = round(abs(frames) * sample_rate / fps)
    if samples == 0:
        return audio.copy()
    silence = np.zeros(min(samples, len(audio)), dtype=audio.dtype)
    if frames > 0:
        return np.concatenate([audio[samples:], silence])
    return np.concatenate([silence, audio[: len(audio) - samples]])


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim `audio` to `length` samples, or repeat it until it is that long."""
    if len(audio) == 0:
        raise ProtocolError("donor audio is empty")
    repeats = -(-length // len(audio))
    return np.tile(audio, repeats)[:length]
