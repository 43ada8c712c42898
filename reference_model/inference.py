"""SyncTalkFace inference: load a checkpoint and generate face crops from target/reference crops and a mel.

Length rule (shared with the runner): the driving audio decides the output length,
T = floor(len(audio) · fps / sample_rate); the pose/reference video is looped (restarting at frame 0) when
shorter and trimmed when longer (`fit_length`). Frame t uses the mel window starting `mel_offset_frames`
(−1 by default, the released training alignment) frames before t, the same alignment as in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from stfbench.audio import mel_windows
from stfbench.errors import StfbenchError, TooShortError, WeightsError
from stfbench.hashing import sha256_file
from stfbench.reference_model.checkpoint import check_checkpoint, module_state, read_checkpoint_file
from stfbench.reference_model.config import ModelConfig, from_dict
from stfbench.reference_model.data import from_unit_range, to_unit_range
from stfbench.reference_model.generator import SyncTalkFace
from stfbench.reference_model.released import (
    config_from_released,
    generator_state_from_released,
    is_released_checkpoint,
    load_strict,
)

MIN_FRAMES = 5
INFERENCE_ONLY_SKIPPED = ("lip_encoder.",)  # training-only weights (left out of inference exports)


@dataclass
class LoadedGenerator:
    """A SyncTalkFace generator ready for inference, with the file it came from."""

    model: SyncTalkFace
    path: Path
    sha256: str
    run: dict[str, Any]
    inference_only: bool = False  # an export: training-only parts (the lip encoder) keep their random init


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> LoadedGenerator:
    """Training checkpoint, fp16 inference export or a released-code checkpoint (`model_state_dict` +
    `dec_state_dict`, paper preset) → generator in eval mode on `device` (float32)."""
    path = Path(path)
    state = read_checkpoint_file(path)
    if is_released_checkpoint(state):
        model = SyncTalkFace(config_from_released(state["model_state_dict"], path))
        weights = generator_state_from_released(state["model_state_dict"], state["dec_state_dict"], path)
        load_strict(model, weights, path)
        run = {"source": "released SyncTalkFace code layout (model_state_dict + dec_state_dict)"}
        return LoadedGenerator(model.to(device).eval(), path, sha256_file(path), run)
    state = check_checkpoint(state, path, kind="synctalkface")
    model = SyncTalkFace(from_dict(ModelConfig, state["configs"]["model"]))
    weights = module_state(state, "generator", path)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.startswith(INFERENCE_ONLY_SKIPPED)]
    if missing or unexpected:
        raise WeightsError(
            f"generator weights do not fit its config (missing {missing[:3]}, unexpected {unexpected[:3]})", path
        )
    return LoadedGenerator(
        model.to(device).eval(), path, sha256_file(path), state.get("run", {}), bool(state.get("inference_only"))
    )


def frames_for_audio(num_samples: int, sample_rate: int, fps: float) -> int:
    """Output length decided by the audio: floor(num_samples · fps / sample_rate)."""
    return int(num_samples * fps // sample_rate)


def fit_length(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """Loop (restart at frame 0) or trim frames (T, …) to `num_frames`."""
    if len(frames) == 0:
        raise TooShortError("the reference video has no frames")
    return frames[np.arange(num_frames) % len(frames)]


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 → (T, size, size, 3) (area filter when shrinking, bilinear when growing)."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return np.ascontiguousarray(frames)
    interpolation = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=interpolation) for f in frames])


@torch.no_grad()
def generate_crops(
    model: SyncTalkFace,
    target_crops: np.ndarray,
    reference_crops: np.ndarray,
    mel: np.ndarray,
    fps: float = 25.0,
    batch_size: int = 32,
) -> np.ndarray:
    """Talking-face crops (T, S, S, 3) uint8 for pose crops `target_crops` (T, S, S, 3), identity crops
    `reference_crops` (T, S, S, 3) and the driving audio's mel (80, T_mel); runs on the model's device."""
    num_frames = len(target_crops)
    if num_frames < MIN_FRAMES:
        raise TooShortError(
            f"{num_frames} frames to generate; SyncTalkFace needs audio of at least {MIN_FRAMES} frames"
        )
    if len(reference_crops) != num_frames:
        raise StfbenchError(f"{len(reference_crops)} reference crops for {num_frames} target crops")
    if mel.ndim != 2 or mel.shape[0] != 80:
        raise StfbenchError(f"mel spectrogram has shape {mel.shape}; expected (80, T_mel)")
    config = model.config
    device = next(model.parameters()).device
    size = target_crops.shape[1]
    windows = mel_windows(mel, num_frames, fps, config.mel_offset_frames)  # (T, 80, 16)
    target = resize_frames(target_crops, config.image_size)
    reference = resize_frames(reference_crops, config.image_size)
    outputs = []
    for start in range(0, num_frames, batch_size):
        chunk = slice(start, start + batch_size)
        out = model(
            torch.from_numpy(windows[chunk]).to(device)[:, None],  # (B, 1, 80, 16)
            to_unit_range(target[chunk]).to(device),  # (B, 3, H, W)
            to_unit_range(reference[chunk]).to(device),
        )
        outputs.append(from_unit_range(out.key_frames))
    return resize_frames(np.concatenate(outputs), size)
