"""The Wav2Lip / SyncTalkFace mel spectrogram and its per-video-frame windows.

Definition (Wav2Lip `audio.melspectrogram` with its `hparams`): pre-emphasis y[n] = x[n] − 0.97·x[n−1];
STFT with n_fft 800, hop 200 (12.5 ms → 80 steps/s at 16 kHz), periodic Hann window of 800, centred with
reflect padding; magnitude (not power); 80 Slaney-normalised mel bands from 55 to 7600 Hz;
dB = 20·log10(max(1e-5, ·)) − 20; normalised as clip(8·(dB + 100)/100 − 4, −4, 4).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from stfbench.errors import RateError

SAMPLE_RATE = 16000
N_FFT = 800
HOP_LENGTH = 200
WIN_LENGTH = 800
NUM_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS_VALUE = 4.0
MEL_STEPS_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 80
MEL_WINDOW = 16  # mel steps per video-frame window (0.2 s)


@cache
def mel_basis() -> np.ndarray:
    """(80, 401) Slaney mel filterbank (librosa, htk=False, norm='slaney'), 55–7600 Hz."""
    import librosa  # here, like scipy.signal below: LSE imports this package for its MFCC and never needs them

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=NUM_MELS, fmin=FMIN, fmax=FMAX)


def melspectrogram(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Wav2Lip mel spectrogram of mono audio in [−1, 1] → (80, 1 + N // 200) float32 in [−4, 4].

    Column j covers the audio centred at sample 200·j (80 columns per second); −4 is silence.
    """
    if sample_rate != SAMPLE_RATE:
        raise RateError(f"the mel spectrogram needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1:
        raise ValueError(f"audio must be mono (N,), got shape {wav.shape}")
    import librosa
    from scipy.signal import lfilter

    emphasised = lfilter([1.0, -PREEMPHASIS], [1.0], wav)
    magnitude = np.abs(
        librosa.stft(emphasised, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH, pad_mode="reflect")
    )  # (401, T_mel)
    mel = mel_basis() @ magnitude  # (80, T_mel)
    decibels = 20.0 * np.log10(np.maximum(1e-5, mel)) - REF_LEVEL_DB
    normalised = 2 * MAX_ABS_VALUE * (decibels - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS_VALUE
    return np.clip(normalised, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def mel_window_starts(num_frames: int, fps: float = 25.0, offset: int = 0) -> np.ndarray:
    """(num_frames,) int64 first mel column of each frame's window: floor(80 · (t + offset) / fps)."""
    frames = np.arange(num_frames, dtype=np.float64) + offset
    return np.floor(MEL_STEPS_PER_SECOND * (frames / fps)).astype(np.int64)


def mel_windows(mel: np.ndarray, num_frames: int, fps: float = 25.0, offset: int = 0) -> np.ndarray:
    """(num_frames, 80, 16) float32: window t = mel columns [s_t, s_t + 16) with s_t = floor(80·(t + offset)/fps).

    `offset=0` is Wav2Lip/SyncTalkFace inference and the sync-loss window; `offset=-1` reproduces the
    generator's training windows (`get_segmented_mels`, one frame earlier). Columns outside the
    spectrogram are filled by repeating the nearest edge column: windows overrunning the end are
    right-padded with the last column (Wav2Lip inference instead takes the last 16 columns) and
    windows starting before 0 are left-padded with the first column (Wav2Lip training skips them).
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[1] == 0:
        raise ValueError(f"mel must be (80, T_mel) with T_mel > 0, got shape {mel.shape}")
    starts = mel_window_starts(num_frames, fps, offset)  # (num_frames,)
    columns = np.clip(starts[:, None] + np.arange(MEL_WINDOW), 0, mel.shape[1] - 1)  # (num_frames, 16)
    return np.ascontiguousarray(mel[:, columns].transpose(1, 0, 2))  # (num_frames, 80, 16)
