"""Training windows from prepared face crops: the thin layer between `stfbench.datasets` and the trainer.

A generator sample (Wav2Lip/SyncTalkFace recipe) at frame t of a clip:
- window: GT frames t−2 … t+6 (9 frames); targets are t … t+4, and target k's lip-encoder input is
  frames k−2 … k+2 (window[k : k+5]);
- reference: 5 consecutive frames from another random position of the same clip (identity);
- mels: per target frame the 16-step window starting `mel_offset` frames before it (released code: −1);
- sync mel: the 16 steps starting at frame t (the expert's alignment, offset 0).
An expert sample: 5 frames at t and the sync mel at t (label 1), or the mel at t with frames from another
random position u ≠ t (label 0), each with probability ½.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from stfbench.audio import mel_windows
from stfbench.errors import TooShortError

WINDOW = 9  # t−2 … t+6
SYNC_T = 5


@dataclass
class TrainingClip:
    """One clip ready for sampling: crops at the model's size and per-frame mel windows."""

    clip_id: str
    frames: np.ndarray  # (T, S, S, 3) uint8 RGB
    gen_mels: np.ndarray  # (T, 80, 16) float32, generator windows (mel offset applied)
    sync_mels: np.ndarray  # (T, 80, 16) float32, expert windows (offset 0)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def make_training_clip(
    clip_id: str, crops: np.ndarray, mel: np.ndarray, image_size: int, fps: float = 25.0, mel_offset: int = -1
) -> TrainingClip:
    """Resize crops (T, S, S, 3) to `image_size` and cut both kinds of mel windows from mel (80, T_mel)."""
    if crops.shape[0] < WINDOW + 1:
        raise TooShortError(f"{crops.shape[0]} frames; training needs at least {WINDOW + 1}", clip_id)
    if crops.shape[1] != image_size:
        crops = np.stack([cv2.resize(f, (image_size, image_size), interpolation=cv2.INTER_AREA) for f in crops])
    t = crops.shape[0]
    return TrainingClip(clip_id, crops, mel_windows(mel, t, fps, mel_offset), mel_windows(mel, t, fps, 0))


def to_unit_range(frames: np.ndarray) -> torch.Tensor:
    """(…, H, W, 3) uint8 → (…, 3, H, W) float32 in [−1, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(127.5).sub_(1)
    return tensor.movedim(-1, -3)


def from_unit_range(frames: torch.Tensor) -> np.ndarray:
    """(…, 3, H, W) in [−1, 1] → (…, H, W, 3) uint8."""
    scaled = ((frames.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return scaled.movedim(-3, -1).cpu().numpy()


def sample_generator_batch(
    clips: list[TrainingClip], rng: np.random.Generator, batch_size: int
) -> dict[str, torch.Tensor]:
    """window (B, 9, 3, H, W), reference (B, 5, 3, H, W), mels (B, 5, 1, 80, 16), sync_mel (B, 1, 80, 16)."""
    windows, references, mels, sync_mels = [], [], [], []
    for _ in range(batch_size):
        clip = clips[int(rng.integers(len(clips)))]
        t = int(rng.integers(2, clip.num_frames - 6))  # needs t−2 ≥ 0 and t+6 ≤ T−1
        r = int(rng.integers(0, clip.num_frames - SYNC_T))
        if r == t:
            r = (r + SYNC_T) % (clip.num_frames - SYNC_T)
        windows.append(clip.frames[t - 2 : t + 7])
        references.append(clip.frames[r : r + SYNC_T])
        mels.append(clip.gen_mels[t : t + SYNC_T])
        sync_mels.append(clip.sync_mels[t])
    return {
        "window": to_unit_range(np.stack(windows)),
        "reference": to_unit_range(np.stack(references)),
        "mels": torch.from_numpy(np.stack(mels))[:, :, None],
        "sync_mel": torch.from_numpy(np.stack(sync_mels))[:, None],
    }


def sample_expert_batch(
    clips: list[TrainingClip], rng: np.random.Generator, batch_size: int
) -> dict[str, torch.Tensor]:
    """frames (B, 5, 3, H, W) in [−1, 1], mel (B, 1, 80, 16), label (B,) 1 = in sync."""
    frames, mels, labels = [], [], []
    for _ in range(batch_size):
        clip = clips[int(rng.integers(len(clips)))]
        last = clip.num_frames - SYNC_T
        t = int(rng.integers(0, last + 1))
        in_sync = bool(rng.random() < 0.5)
        u = t
        if not in_sync:
            u = int(rng.integers(0, last))
            u = u + 1 if u >= t else u  # uniform over positions ≠ t
        frames.append(clip.frames[u : u + SYNC_T])
        mels.append(clip.sync_mels[t])
        labels.append(float(in_sync))
    return {
        "frames": to_unit_range(np.stack(frames)),
        "mel": torch.from_numpy(np.stack(mels))[:, None],
        "label": torch.tensor(labels),
    }
