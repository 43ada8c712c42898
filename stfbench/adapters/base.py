"""The model-adapter interface: how the runner asks any generator for frames.

A user's own model is one class in their own module, selected with `--model package.module:Class`:

    class MyModel(ModelAdapter):
        name = "my-model"
        def prepare(self, protocol, device): self.net = load(...).to(device)
        def generate(self, request): return frames  # (T, S, S, 3) uint8

Everything is in the protocol's face-crop space (S = `protocol.crop.size`); an adapter whose network
runs at another size resizes inside `generate`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


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
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. source paths, for file-based adapters

    @property
    def num_frames(self) -> int:
        return int(self.target_crops.shape[0])


class ModelAdapter(ABC):
    """Base class of every generator the runner can benchmark (built-in, control or external)."""

    #: Registry name (`--model NAME`).
    name: str = "model"
    #: Whether the adapter's output is a real model's output (False for controls such as `static`).
    is_control: bool = False

    @abstractmethod
    def prepare(self, protocol: Any, device: torch.device) -> None:
        """Load weights and get ready for `protocol`; called once before any `generate`."""

    @abstractmethod
    def generate(self, request: GenerationRequest) -> np.ndarray:
        """Return the generated face crops, (T, S, S, 3) uint8 RGB, T = request.num_frames."""

    def provenance(self) -> dict[str, Any]:
        """What identifies this model's outputs: checkpoint path and SHA-256, settings."""
        return {"model": self.name}
