"""syncnet_python's evaluation arithmetic (`SyncNetInstance.evaluate`), on in-memory frames and audio.

Per clip: lastframe = min(#frames, ⌊#samples / 640⌋) − 5 windows; window i = frames i…i+4 (BGR, 0–255,
224×224) and MFCC columns 4i…4i+19 (13 × 20, 100 Hz, int16-scale audio). The audio embeddings are
zero-padded by `vshift` rows at both ends; d[i, k] = ‖v_i − a_pad[i + k] + 1e-6‖₂ (torch
`pairwise_distance`); the mean over i gives 2·vshift + 1 distances; with the first argmin k*:
AV offset = vshift − k* (frames; audio lagging the video gives a negative offset), LSE-D = min mean
distance (↓), LSE-C = lower median − min (↑).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from stfbench.audio import syncnet_mfcc
from stfbench.errors import TooShortError

SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps
WINDOW_FRAMES = 5
MFCC_PER_FRAME = 4
MFCC_WINDOW = 20


@dataclass(frozen=True)
class SyncResult:
    """One clip's scores: offset in frames, LSE-D, LSE-C and the mean-distance curve over offsets."""

    av_offset: int
    lse_d: float
    lse_c: float
    mean_dists: np.ndarray  # (2·vshift + 1,) float32
    windows: int


def num_windows(num_frames: int, num_samples: int) -> int:
    """syncnet_python's `lastframe`: how many 5-frame windows a clip yields."""
    return min(num_frames, num_samples // SAMPLES_PER_FRAME) - WINDOW_FRAMES


def sync_distances(video: torch.Tensor, audio: torch.Tensor, vshift: int) -> torch.Tensor:
    """(N, E) video and audio embeddings → (N, 2·vshift + 1) distances over offsets −vshift…+vshift."""
    padded = torch.nn.functional.pad(audio, (0, 0, vshift, vshift))  # (N + 2·vshift, E)
    windows = padded.unfold(0, 2 * vshift + 1, 1).transpose(1, 2)  # (N, 2·vshift + 1, E)
    return torch.linalg.vector_norm(video[:, None, :] - windows + 1e-6, dim=-1)


def sync_scores(dists: torch.Tensor, vshift: int) -> SyncResult:
    """Offset / LSE-D / LSE-C from per-window distances (N, 2·vshift + 1)."""
    mean_dists = dists.mean(dim=0).float().cpu()  # (2·vshift + 1,)
    values = mean_dists.numpy()
    best = int(np.argmin(values))  # first minimum
    minval = float(values[best])
    return SyncResult(
        av_offset=vshift - best,
        lse_d=minval,
        lse_c=float(torch.median(mean_dists)) - minval,
        mean_dists=values,
        windows=int(dists.shape[0]),
    )


def resize_bgr224(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB → (T, 224, 224, 3) uint8 BGR, each frame `cv2.resize(·, (224, 224))`
    (INTER_LINEAR on uint8), as Wav2Lip's `calculate_scores_LRS.py` feeds SyncNet."""
    out = np.empty((len(frames), 224, 224, 3), np.uint8)
    for i, frame in enumerate(frames):
        out[i] = cv2.resize(np.ascontiguousarray(frame[..., ::-1]), (224, 224), interpolation=cv2.INTER_LINEAR)
    return out


def lip_windows(frames: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Windows start…stop−1 of (T, H, W, 3) uint8 BGR frames as a view (B, H, W, 3, 5): [b, y, x, c, t] =
    frames[start + b + t, y, x, c]. No copy."""
    return frames.unfold(0, WINDOW_FRAMES, 1)[start:stop]


def stacked_lips(windows: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3, 5) uint8 window view → SyncNet lip input (B, 15, H, W) float 0–255, channels_last, channel
    c·5 + t = colour c of frame t (`FoldedSyncNet.forward_lip_stacked`'s layout), in one gather + convert."""
    batch = torch.empty(windows.shape, dtype=torch.float32, device=windows.device)  # (B, H, W, 3, 5)
    batch.copy_(windows)
    return batch.flatten(3).permute(0, 3, 1, 2)  # (B, 15, H, W), channels_last strides


def mfcc_windows(mfcc: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """(13, T_mfcc) MFCC → SyncNet audio input (B, 1, 13, 20) of windows start…stop−1 (columns 4i…4i+19)."""
    starts = torch.arange(start, stop, device=mfcc.device) * MFCC_PER_FRAME  # (B,)
    index = starts[:, None] + torch.arange(MFCC_WINDOW, device=mfcc.device)  # (B, 20)
    return mfcc[:, index].permute(1, 0, 2).unsqueeze(1)  # (B, 1, 13, 20)


@torch.no_grad()
def syncnet_embeddings(
    net: torch.nn.Module,
    lips_bgr: np.ndarray,
    mfcc: np.ndarray,
    windows: int,
    device: torch.device,
    batch_size: int = 20,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Video and audio embeddings (N, E) of `windows` windows.

    lips_bgr: (T, 224, 224, 3) uint8 BGR; mfcc: (13, T_mfcc). `net` is a `SyncNet` or `FoldedSyncNet`
    (both take the stacked (B, 15, H, W) lip input).
    """
    frames = torch.from_numpy(lips_bgr).to(device)  # (T, 224, 224, 3) uint8
    cc = torch.from_numpy(np.ascontiguousarray(mfcc)).to(device).float()  # (13, T_mfcc)
    video, audio = [], []
    for start in range(0, windows, batch_size):
        stop = min(windows, start + batch_size)
        video.append(net.forward_lip_stacked(stacked_lips(lip_windows(frames, start, stop))))
        audio.append(net.forward_aud(mfcc_windows(cc, start, stop)))
    return torch.cat(video), torch.cat(audio)


def evaluate_sync(
    net: torch.nn.Module,
    lips_bgr: np.ndarray,
    audio: np.ndarray,
    device: torch.device,
    vshift: int = 15,
    batch_size: int = 20,
    sample_rate: int = 16000,
    clip_id: str | None = None,
) -> SyncResult:
    """Full per-clip evaluation: MFCC, windows, embeddings, distances over ±vshift, scores."""
    windows = num_windows(len(lips_bgr), len(audio))
    if windows < 1:
        raise TooShortError(
            f"LSE needs at least 6 frames of video and audio, got {len(lips_bgr)} frames / "
            f"{len(audio) / sample_rate:.2f} s audio",
            clip_id,
        )
    mfcc = syncnet_mfcc(audio, sample_rate)
    video, aud = syncnet_embeddings(net, lips_bgr, mfcc, windows, device, batch_size)
    return sync_scores(sync_distances(video, aud, vshift), vshift)
