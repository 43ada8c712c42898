"""The model-adapter interface: how the runner asks any generator for frames.

A user's own model is one class in their own module, selected with `--model package.module:Class` (or
registered under the entry-point group `stfbench.models`):

    class MyModel(ModelAdapter):
        name = "my-model"
        def __init__(self, checkpoint=None): self.checkpoint = checkpoint
        def prepare(self, protocol, device): self.net = load(self.checkpoint).to(device)
        def generate(self, request): return frames  # (T, S, S, 3) uint8

The runner constructs the class with the keyword options the user gave (`--checkpoint` → `checkpoint`,
`--model-opt key=value` → `key`), calls `prepare` once, then `generate` per clip. Everything is in the
protocol's face-crop space (S = `protocol.crop.size`); an adapter whose network runs at another size
resizes inside `generate`. An adapter that produces whole frames (external models) returns `Generated`
with both the crops and the frames.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from stfbench.prerequisites import Check


@dataclass
class GenerationRequest:
    """One clip to generate.

    Length rule: the driving audio decides the number of output frames T = floor(len(audio) * fps / sr)
    (capped by the mel windows available); the runner loops or trims `target_crops` to T frames.
    """

    item_id: str
    target_crops: np.ndarray  # (T, S, S, 3) uint8: the face to re-dub (pose; in reconstruction also the GT)
    reference_crops: np.ndarray  # (T, S, S, 3) uint8: identity frames chosen by the protocol's reference rule
    audio: np.ndarray  # (N,) float32 mono, driving audio at `sample_rate`
    mel: np.ndarray  # (80, T_mel) float32 Wav2Lip mel spectrogram of `audio`
    fps: float = 25.0
    sample_rate: int = 16000
    extras: dict[str, Any] = field(default_factory=dict)  # source paths, boxes, ... for file-based adapters

    @property
    def num_frames(self) -> int:
        return int(self.target_crops.shape[0])


@dataclass
class Generated:
    """What an adapter may return instead of bare crops: crops plus whole frames it produced itself.

    crops: (T, S, S, 3) uint8 in the protocol's crop space. frames: (T, H, W, 3) uint8 whole frames
    (scored by full-frame metrics such as LSE `fullframe224` instead of pasting the crops back).
    """

    crops: np.ndarray
    frames: np.ndarray | None = None


#: Signature of the helper the runner hands to `ModelAdapter.driving_audio`: item id → its audio.
AudioLookup = Callable[[str], np.ndarray]


class ModelAdapter(ABC):
    """Base class of every generator the runner can benchmark (built-in, control or external)."""

    #: Registry name (`--model NAME`).
    name: str = "model"
    #: Whether the adapter's output is a real model's output (False for controls such as `static`).
    is_control: bool = False
    #: Whether the output is the ground-truth video itself (ground-truth, shifted/mismatched audio): such
    #: rows are set apart in tables and never compete for the best value.
    uses_ground_truth_video: bool = False

    @abstractmethod
    def prepare(self, protocol: Any, device: torch.device) -> None:
        """Load weights and get ready for `protocol`; called once before any `generate`."""

    @abstractmethod
    def generate(self, request: GenerationRequest) -> np.ndarray | Generated:
        """Return the generated face crops, (T, S, S, 3) uint8 RGB, T = request.num_frames."""

    def prerequisites(self, dataset: str) -> list[Check]:
        """What `prepare` will need for `dataset` (checkpoint files, folders), checked without loading anything,
        so a run reports every missing file at once (`stfbench doctor`)."""
        return []

    def driving_audio(self, request: GenerationRequest, audio_of: AudioLookup) -> np.ndarray | None:
        """Replacement driving audio for this clip (scored with the output), or None to keep the protocol's.

        Controls such as `shifted-audio` and `mismatched-audio` use this; `audio_of(item_id)` returns the
        protocol audio of any item of the run.
        """
        return None

    @property
    def label(self) -> str:
        """Row label in tables, e.g. `shifted-audio (k=3)`."""
        return self.name

    def provenance(self) -> dict[str, Any]:
        """What identifies this model's outputs: checkpoint path and SHA-256, settings."""
        return {"model": self.name}
