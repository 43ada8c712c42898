"""`--model wav2lip`: the Wav2Lip generator (public checkpoints, TorchScript files, or ones trained here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from stfbench.adapters.base import GenerationRequest, ModelAdapter
from stfbench.adapters.wav2lip.checkpoint import LoadedWav2Lip, load_wav2lip
from stfbench.adapters.wav2lip.model import Wav2Lip
from stfbench.errors import ModelError, TooShortError, WeightsError
from stfbench.prerequisites import Check, check_checkpoint

#: Weight-registry id used when `--checkpoint` is not given, per dataset (the committed tiny model for the
#: synthetic protocol; the public non-GAN checkpoint elsewhere).
DEFAULT_CHECKPOINTS = {"synthetic": "wav2lip_tiny_synthetic"}
FALLBACK_CHECKPOINT = "wav2lip"
MEL_STEPS = 16  # mel frames per window (0.2 s at 80 mel frames/s)


def inference_mel_windows(mel: np.ndarray, num_frames: int, fps: float) -> np.ndarray:
    """Wav2Lip's inference windows: frame i ↦ mel[:, s:s+16] with s = int(80·i/fps), clamped to the end.

    mel (80, T_mel) → (T, 80, 16). (Training uses s = int(80·(i−1)/fps); inference does not.)
    """
    if mel.shape[1] < MEL_STEPS:
        raise TooShortError(f"audio gives {mel.shape[1]} mel frames, Wav2Lip needs at least {MEL_STEPS}")
    starts = np.minimum((np.arange(num_frames) * 80.0 / fps).astype(int), mel.shape[1] - MEL_STEPS)
    return np.stack([mel[:, s : s + MEL_STEPS] for s in starts])


class Wav2LipAdapter(ModelAdapter):
    """Runs Wav2Lip frame by frame at 96×96: masked target (lower half zero) ⊕ reference, one mel window each."""

    name = "wav2lip"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        batch_size: int = 32,
        trust_unverified: bool = False,
        allow_pickle: str | Path | None = None,
    ):
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.allow_pickle = None if allow_pickle is None else str(allow_pickle)
        self.batch_size = int(batch_size)
        self.trust_unverified = bool(trust_unverified)
        self.loaded: LoadedWav2Lip | None = None
        self.device = torch.device("cpu")

    def prepare(self, protocol: Any, device: torch.device) -> None:
        path = resolve_checkpoint(self.checkpoint, getattr(protocol, "dataset", None), self.trust_unverified)
        self.checkpoint = str(path)
        self.device = device
        self.loaded = load_wav2lip(path, device, self.allow_pickle)

    def prerequisites(self, dataset: str) -> list[Check]:
        default = DEFAULT_CHECKPOINTS.get(dataset, FALLBACK_CHECKPOINT)
        fix = "pass --checkpoint PATH (Wav2Lip's wav2lip.pth or wav2lip_gan.pth, or one from `stfbench train`)"
        return check_checkpoint(self.name, self.checkpoint, default, self.trust_unverified, fix)

    @torch.no_grad()
    def generate(self, request: GenerationRequest) -> np.ndarray:
        if self.loaded is None:
            raise ModelError("wav2lip: prepare() was not called")
        size = request.target_crops.shape[1]
        windows = inference_mel_windows(request.mel, request.num_frames, request.fps)  # (T, 80, 16)
        target = _resize(request.target_crops, Wav2Lip.IMAGE_SIZE)  # (T, 96, 96, 3)
        reference = _resize(request.reference_crops, Wav2Lip.IMAGE_SIZE)
        if self.loaded.channel_order == "bgr":
            target, reference = target[..., ::-1], reference[..., ::-1]
        masked = target.copy()
        masked[:, Wav2Lip.IMAGE_SIZE // 2 :] = 0
        faces = np.concatenate([masked, reference], axis=3).transpose(0, 3, 1, 2)  # (T, 6, 96, 96)
        outputs = []
        for start in range(0, request.num_frames, self.batch_size):
            face = torch.from_numpy(np.ascontiguousarray(faces[start : start + self.batch_size]))
            face = face.to(self.device, torch.float32) / 255.0  # (B, 6, 96, 96)
            mel = torch.from_numpy(windows[start : start + self.batch_size]).to(self.device, torch.float32)
            out = self.loaded.model(mel.unsqueeze(1), face)  # (B, 3, 96, 96) in [0, 1]
            outputs.append((out.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy())
        frames = np.concatenate(outputs)  # (T, 96, 96, 3)
        if self.loaded.channel_order == "bgr":
            frames = frames[..., ::-1]
        return _resize(np.ascontiguousarray(frames), size)

    def provenance(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model": self.name,
            "checkpoint": None if self.checkpoint is None else str(self.checkpoint),
        }
        if self.allow_pickle is not None:  # the user vouched for a file that needed full unpickling
            info["allow_pickle"] = self.allow_pickle
        if self.loaded is not None:
            info.update(
                checkpoint_sha256=self.loaded.sha256,
                checkpoint_format=self.loaded.format,
                checkpoint_registry_id=self.loaded.known_id,
                width_mult=self.loaded.width_mult,
            )
        return info


def resolve_checkpoint(checkpoint: str | None, dataset: str | None, trust_unverified: bool = False) -> Path:
    """`--checkpoint` as a file path or a weight-registry id (e.g. `wav2lip_gan`); without it the dataset's
    default id. Registry ids are located and SHA-256-verified by the registry (WeightsError when missing)."""
    from stfbench.weights import entries, resolve

    if checkpoint is not None and checkpoint not in entries():
        return Path(checkpoint)
    weight_id = checkpoint or DEFAULT_CHECKPOINTS.get(dataset or "", FALLBACK_CHECKPOINT)
    if weight_id not in entries():
        raise WeightsError(f"wav2lip: no checkpoint registered as {weight_id!r}; pass --checkpoint PATH")
    return resolve(weight_id, trust_unverified)


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 → (T, size, size, 3) uint8 (area filter when shrinking, bilinear when growing)."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return np.ascontiguousarray(frames)
    interpolation = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=interpolation) for f in frames])
