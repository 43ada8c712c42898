"""syncnet_python's evaluation arithmetic (`SyncNetInstance.evaluate`), on in-memory frames and audio.

Per clip: lastframe = min(#frames, ⌊#samples / 640⌋) − 5 windows; window i = frames i…i+4 (BGR, 0–255,
224×224) and MFCC columns 4i…4i+19 (13 × 20, 100 Hz, int16-scale audio). The audio embeddings are
zero-padded by `vshift` rows at both ends; d[i, k] = ‖v_i − a_pad[i + k] + 1e-6‖₂ (torch
`pairwise_distance`); the mean over i gives 2·vshift + 1 distances; with the first argmin k*:
AV offset = vshift − k* (frames; audio lagging the video gives a negative offset), LSE-D = min mean
distance (↓), LSE-C = lower median − min (↑). Means over windows are accumulated in float64.
Per window (syncnet_python's `fconf`): confidence_i = median over offsets of the mean distances − d[i, k*],
and its 9-tap median-filtered form (`scipy.signal.medfilt`, zero-padded ends, as syncnet_python's `fconfm`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from stfbench.audio import syncnet_mfcc
from stfbench.errors import StfbenchError, TooShortError

SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps
WINDOW_FRAMES = 5
MFCC_PER_FRAME = 4
MFCC_WINDOW = 20
#: SyncNet forward precision → compute dtype: fp32, or torch autocast to bfloat16 / float16 (named in the metric).
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class SyncResult:
    """One clip's scores: offset in frames, LSE-D, LSE-C and the mean-distance curve over offsets."""

    av_offset: int
    lse_d: float
    lse_c: float
    mean_dists: np.ndarray  # (2·vshift + 1,) float64 (mean over windows accumulated in float64)
    windows: int
    frame_dists: np.ndarray  # (windows,) float64: d[i, k*], window i's distance at the clip's best offset

    @property
    def offsets(self) -> np.ndarray:
        """(2·vshift + 1,) the AV offset (frames) of each entry of `mean_dists`: vshift, vshift − 1, …, −vshift."""
        vshift = (len(self.mean_dists) - 1) // 2
        return vshift - np.arange(len(self.mean_dists))

    @property
    def frame_conf(self) -> np.ndarray:
        """(windows,) per-window confidence: median of `mean_dists` − d[i, k*] (↑; syncnet_python's fconf; the
        lower median, torch's, as in LSE-C)."""
        median = np.sort(self.mean_dists)[(len(self.mean_dists) - 1) // 2]
        return median - self.frame_dists

    def frame_conf_filtered(self, kernel: int = 9) -> np.ndarray:
        """`frame_conf` median-filtered over `kernel` windows, zero-padded at the ends (syncnet_python's fconfm)."""
        import warnings

        from scipy.signal import medfilt

        with warnings.catch_warnings():  # fewer windows than taps: zero-padded as always, nothing to warn about
            warnings.filterwarnings("ignore", "kernel_size exceeds volume extent", UserWarning)
            return medfilt(self.frame_conf, kernel_size=kernel)


def num_windows(num_frames: int, num_samples: int) -> int:
    """syncnet_python's `lastframe`: how many 5-frame windows a clip yields."""
    return min(num_frames, num_samples // SAMPLES_PER_FRAME) - WINDOW_FRAMES


def sync_distances(video: torch.Tensor, audio: torch.Tensor, vshift: int) -> torch.Tensor:
    """(N, E) video and audio embeddings → (N, 2·vshift + 1) distances over offsets −vshift…+vshift."""
    padded = torch.nn.functional.pad(audio, (0, 0, vshift, vshift))  # (N + 2·vshift, E)
    windows = padded.unfold(0, 2 * vshift + 1, 1).transpose(1, 2)  # (N, 2·vshift + 1, E)
    return torch.linalg.vector_norm(video[:, None, :] - windows + 1e-6, dim=-1)


def sync_scores(dists: torch.Tensor, vshift: int) -> SyncResult:
    """Offset / LSE-D / LSE-C from per-window distances (N, 2·vshift + 1).

    The mean over windows is accumulated in float64: on large distances (≈1e4, e.g. untrained weights) the
    float32 summation order alone moves LSE-C by up to 4e-3, so batch size and device would show in it.
    """
    mean_dists = dists.double().mean(dim=0).cpu()  # (2·vshift + 1,) float64
    values = mean_dists.numpy()
    best = int(np.argmin(values))  # first minimum
    minval = float(values[best])
    return SyncResult(
        av_offset=vshift - best,
        lse_d=minval,
        lse_c=float(torch.median(mean_dists)) - minval,
        mean_dists=values,
        windows=int(dists.shape[0]),
        frame_dists=dists[:, best].double().cpu().numpy(),
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


def stacked_lips(windows: Sequence[torch.Tensor], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B_i, H, W, 3, 5) uint8 window views (of one or several clips) → SyncNet lip input (ΣB_i, 15, H, W)
    0–255 in `dtype`, channels_last, channel c·5 + t = colour c of frame t (`forward_lip_stacked`'s layout),
    in one gather + convert per view."""
    batch = torch.empty(
        (sum(len(w) for w in windows), *windows[0].shape[1:]), dtype=dtype, device=windows[0].device
    )  # (B, H, W, 3, 5)
    offset = 0
    for view in windows:
        batch[offset : offset + len(view)].copy_(view)
        offset += len(view)
    return batch.flatten(3).permute(0, 3, 1, 2)  # (B, 15, H, W), channels_last strides


def mfcc_windows(mfcc: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """(13, T_mfcc) MFCC → SyncNet audio input (B, 1, 13, 20) of windows start…stop−1 (columns 4i…4i+19)."""
    starts = torch.arange(start, stop, device=mfcc.device) * MFCC_PER_FRAME  # (B,)
    index = starts[:, None] + torch.arange(MFCC_WINDOW, device=mfcc.device)  # (B, 20)
    return mfcc[:, index].permute(1, 0, 2).unsqueeze(1)  # (B, 1, 13, 20)


def check_precision(precision: str, device: torch.device) -> None:
    """StfbenchError unless `precision` is known and usable on `device` (fp16 autocast is CUDA only)."""
    if precision not in PRECISIONS:
        raise StfbenchError(f"unknown LSE precision {precision!r} (choose {', '.join(PRECISIONS)})")
    if precision == "fp16" and device.type != "cuda":
        raise StfbenchError("LSE precision fp16 needs a CUDA device (use bf16 on CPU)")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of an LSE precision: `fp32` none, `bf16` / `fp16` torch autocast to that dtype."""
    check_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=PRECISIONS[precision])


@dataclass
class SyncInput:
    """One clip's SyncNet input: frames (T, 224, 224, 3) uint8 BGR and MFCC (13, T_mfcc) float tensors on the
    network's device, and the number of windows scored."""

    frames: torch.Tensor
    mfcc: torch.Tensor
    windows: int


def sync_arrays(
    lips_bgr: np.ndarray, audio: np.ndarray, sample_rate: int = 16000, clip_id: str | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(T, 224, 224, 3) uint8 BGR frames and float32 audio → (frames, MFCC (13, T_mfcc), number of windows), the
    CPU part of `sync_input` (TooShortError below one window)."""
    windows = num_windows(len(lips_bgr), len(audio))
    if windows < 1:
        raise TooShortError(
            f"LSE needs at least 6 frames of video and audio, got {len(lips_bgr)} frames / "
            f"{len(audio) / sample_rate:.2f} s audio",
            clip_id,
        )
    return np.ascontiguousarray(lips_bgr), syncnet_mfcc(audio, sample_rate), windows


def sync_tensors(arrays: tuple[np.ndarray, np.ndarray, int], device: torch.device) -> SyncInput:
    """`sync_arrays`' output → `SyncInput` on `device`."""
    frames, mfcc, windows = arrays
    return SyncInput(torch.from_numpy(frames).to(device), torch.from_numpy(mfcc).to(device).float(), windows)


def sync_input(
    lips_bgr: np.ndarray, audio: np.ndarray, device: torch.device, sample_rate: int = 16000, clip_id: str | None = None
) -> SyncInput:
    """(T, 224, 224, 3) uint8 BGR frames and float32 audio → `SyncInput` (TooShortError below one window)."""
    return sync_tensors(sync_arrays(lips_bgr, audio, sample_rate, clip_id), device)


@torch.no_grad()
def clip_embeddings(
    net: torch.nn.Module, clips: Sequence[SyncInput], batch_size: int = 20, precision: str = "fp32"
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Video and audio embeddings ((N_i, E), (N_i, E)) float32 of every clip. The windows of consecutive clips
    share forward batches of `batch_size`; `net` is a `SyncNet` or `FoldedSyncNet` (stacked lip input)."""
    if not clips:
        return []
    device = clips[0].frames.device
    batches: list[list[tuple[int, int, int]]] = [[]]  # per batch: (clip, first window, end window)
    filled = 0
    for index, clip in enumerate(clips):
        start = 0
        while start < clip.windows:
            if filled == batch_size:
                batches.append([])
                filled = 0
            stop = min(clip.windows, start + batch_size - filled)
            batches[-1].append((index, start, stop))
            filled += stop - start
            start = stop
    video, audio = [], []
    with autocast(device, precision):  # checks `precision` first
        for batch in batches:
            # (B, 15, H, W) already in the autocast dtype: the first convolution casts nothing
            lips = stacked_lips([lip_windows(clips[i].frames, a, b) for i, a, b in batch], PRECISIONS[precision])
            mfcc = torch.cat([mfcc_windows(clips[i].mfcc, a, b) for i, a, b in batch])  # (B, 1, 13, 20)
            video.append(net.forward_lip_stacked(lips).float())  # (B, E)
            audio.append(net.forward_aud(mfcc).float())  # (B, E)
    counts = [clip.windows for clip in clips]
    return list(zip(torch.cat(video).split(counts), torch.cat(audio).split(counts), strict=True))


def evaluate_sync(
    net: torch.nn.Module,
    lips_bgr: np.ndarray,
    audio: np.ndarray,
    device: torch.device,
    vshift: int = 15,
    batch_size: int = 20,
    sample_rate: int = 16000,
    clip_id: str | None = None,
    precision: str = "fp32",
) -> SyncResult:
    """Full per-clip evaluation: MFCC, windows, embeddings, distances over ±vshift, scores."""
    ((video, aud),) = clip_embeddings(
        net, [sync_input(lips_bgr, audio, device, sample_rate, clip_id)], batch_size, precision
    )
    return sync_scores(sync_distances(video, aud, vshift), vshift)
