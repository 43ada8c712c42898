"""syncnet_python's audio features: python_speech_features 0.6 MFCC defaults on int16-valued samples.

Definition: samples scaled to int16 values (x·32768, rounded and clipped, as FFmpeg's float→s16
conversion does); pre-emphasis 0.97 (first sample kept); 25 ms frames (400 samples) every 10 ms
(160 samples → 100 frames/s), rectangular window, the last frame zero-padded, so T = 1 + ceil((N − 400)/160);
power spectrum |FFT_512|²/512; 26 triangular mel filters 0–8000 Hz; natural log; orthonormal DCT-II,
first 13 coefficients; lifter 1 + 11·sin(πn/22); c0 replaced by the log of the frame's total power.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from python_speech_features import get_filterbanks
from scipy.fft import dct

from stfbench.errors import RateError

SAMPLE_RATE = 16000
FRAME_LENGTH = 400
FRAME_STEP = 160
NFFT = 512
NUM_FILTERS = 26
NUM_CEPSTRA = 13
PREEMPHASIS = 0.97
CEPSTRAL_LIFTER = 22
MFCC_STEPS_PER_SECOND = SAMPLE_RATE // FRAME_STEP  # 100
_EPS = np.finfo(np.float64).eps


@cache
def _filterbank() -> np.ndarray:
    """(26, 257) triangular mel filters as python_speech_features builds them."""
    return get_filterbanks(NUM_FILTERS, NFFT, SAMPLE_RATE, 0, SAMPLE_RATE / 2)


def to_int16_values(wav: np.ndarray) -> np.ndarray:
    """Float audio in [−1, 1] → float64 holding the int16 sample values FFmpeg's pcm_s16le would write."""
    return np.clip(np.round(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767)


def syncnet_mfcc(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """syncnet_python MFCC of mono audio in [−1, 1] → (13, T) float32 at 100 frames/s."""
    if sample_rate != SAMPLE_RATE:
        raise RateError(f"SyncNet MFCC needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    signal = to_int16_values(wav)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(f"audio must be mono and non-empty (N,), got shape {signal.shape}")
    emphasised = np.append(signal[0], signal[1:] - PREEMPHASIS * signal[:-1])
    num_frames = 1 if len(signal) <= FRAME_LENGTH else 1 + math.ceil((len(signal) - FRAME_LENGTH) / FRAME_STEP)
    padded = np.zeros((num_frames - 1) * FRAME_STEP + FRAME_LENGTH)
    padded[: len(emphasised)] = emphasised
    frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LENGTH)[::FRAME_STEP]  # (T, 400)
    power = np.abs(np.fft.rfft(frames, NFFT)) ** 2 / NFFT  # (T, 257)
    energy = power.sum(axis=1)  # (T,)
    energy = np.where(energy == 0, _EPS, energy)
    filtered = power @ _filterbank().T  # (T, 26)
    filtered = np.where(filtered == 0, _EPS, filtered)
    cepstra = dct(np.log(filtered), type=2, axis=1, norm="ortho")[:, :NUM_CEPSTRA]  # (T, 13)
    cepstra *= 1 + (CEPSTRAL_LIFTER / 2) * np.sin(np.pi * np.arange(NUM_CEPSTRA) / CEPSTRAL_LIFTER)
    cepstra[:, 0] = np.log(energy)
    return np.ascontiguousarray(cepstra.T, dtype=np.float32)  # (13, T)
