"""Turning a protocol item into a `GenerationRequest` and a scoring sample, by the protocol's rules.

- Pairing: the target (pose/identity) comes from the item's video, the driving audio from its audio
  (the same clip in `reconstruction` mode, another clip in `cross` mode).
- Length: the driving audio decides T = min(floor(N·fps/sr), number of mel windows whose start
  floor(80·t/fps) lies inside the spectrogram) — adapters pad or clamp windows that run over the end;
  the target crops, boxes and source frames are looped (index t mod T_video) or trimmed to T.
- Reference: the protocol's rule (`ReferenceSpec.indices`: `first-frame`, `seeded-frame`, `same-frame`)
  over the target's frames, looped like the target. With `exclude_from_paired_metrics` the output frames
  whose target is the reference frame itself are left out of the paired metrics (`paired_mask`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from stfbench.adapters.base import GenerationRequest
from stfbench.errors import TooShortError

MEL_FRAMES_PER_SECOND = 80.0


def mel_spectrogram(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """The Wav2Lip/SyncTalkFace mel spectrogram (80, T_mel) from `stfbench.audio`."""
    from stfbench.audio import melspectrogram

    return np.asarray(melspectrogram(audio, sample_rate=sample_rate), dtype=np.float32)


def output_length(num_samples: int, num_mel_frames: int, fps: float, sample_rate: int) -> int:
    """T = min(floor(N·fps/sr), number of frames t whose mel window start floor(80·t/fps) < T_mel)."""
    by_audio = int(num_samples * fps // sample_rate)
    by_mel = int(np.ceil(num_mel_frames * fps / MEL_FRAMES_PER_SECOND))
    return min(by_audio, by_mel)


def clip_seed(seed: int, item_id: str) -> int:
    """A 32-bit seed for one clip, independent of run order and sharding."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{item_id}".encode()).digest()[:4], "little")


def build_request(
    protocol: Any, item: Any, target: Any, audio: np.ndarray, extras: dict[str, Any]
) -> tuple[GenerationRequest, np.ndarray]:
    """The request for `item` (target = prepared video clip, `audio` = driving audio) and the target frame
    index used for each output frame, (T,)."""
    fps, sample_rate = float(protocol.fps), int(protocol.sample_rate)
    mel = mel_spectrogram(audio, sample_rate)  # (80, T_mel)
    length = output_length(len(audio), mel.shape[1], fps, sample_rate)
    if length < 1:
        raise TooShortError(f"driving audio of {item.item_id} is {len(audio) / sample_rate:.3f} s: too short")
    num_target = len(target.crops)
    if num_target == 0:
        raise TooShortError(f"clip {item.video_id} has no frames")
    frame_index = np.arange(length) % num_target  # (T,)
    ref_index = protocol.reference.indices(item.item_id, num_target)[frame_index]  # (T,)
    request = GenerationRequest(
        item_id=item.item_id,
        target_crops=target.crops[frame_index],
        reference_crops=target.crops[ref_index],
        audio=np.asarray(audio, dtype=np.float32),
        mel=mel,
        fps=fps,
        sample_rate=sample_rate,
        extras={
            **extras,
            "boxes": np.asarray(target.boxes)[frame_index],
            "frame_size": tuple(target.frame_size),
            "video_path": str(item.video_path),
            "audio_path": str(item.audio_path),
        },
    )
    return request, frame_index


def paired_mask(protocol: Any, item_id: str, frame_index: np.ndarray, num_target: int) -> np.ndarray | None:
    """(T,) bool, False where output frame t's target is the clip's reference frame — or None when the
    protocol scores every frame."""
    if not protocol.reference.exclude_from_paired_metrics:
        return None
    ref_index = protocol.reference.indices(item_id, num_target)  # (T_video,)
    return frame_index != ref_index[frame_index]
