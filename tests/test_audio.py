"""Mel spectrogram and SyncNet MFCC against librosa / python_speech_features and hand computations."""

from __future__ import annotations

from fractions import Fraction

import av
import librosa
import numpy as np
import pytest
import python_speech_features
import scipy.io.wavfile
from scipy.signal import get_window, lfilter

from stfbench.audio import (
    MEL_STEPS_PER_SECOND,
    MEL_WINDOW,
    mel_window_starts,
    mel_windows,
    melspectrogram,
    syncnet_mfcc,
    to_int16_values,
)
from stfbench.errors import RateError

SR = 16000


def _speechlike(seconds: float = 1.3, seed: int = 0) -> np.ndarray:
    """A fixed signal: two harmonic tones with a syllable-rate envelope plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    tone = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 1330 * t)
    return (envelope * tone + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _wav2lip_postprocess(magnitude_mel: np.ndarray) -> np.ndarray:
    db = 20 * np.log10(np.maximum(1e-5, magnitude_mel)) - 20
    return np.clip(8 * (db + 100) / 100 - 4, -4, 4)


def test_mel_matches_librosa_melspectrogram_with_reflect_padding() -> None:
    wav = _speechlike()
    emphasised = lfilter([1, -0.97], [1], wav.astype(np.float64))
    reference = librosa.feature.melspectrogram(
        y=emphasised, sr=SR, n_fft=800, hop_length=200, win_length=800, power=1.0,
        n_mels=80, fmin=55, fmax=7600, pad_mode="reflect",
    )  # fmt: skip
    mel = melspectrogram(wav)
    assert mel.shape == (80, 1 + len(wav) // 200)
    assert mel.dtype == np.float32
    np.testing.assert_allclose(mel, _wav2lip_postprocess(reference), atol=1e-4)


def test_mel_matches_hand_framed_stft() -> None:
    """Independent of librosa's STFT: explicit reflect padding, periodic Hann, rfft per frame."""
    wav = _speechlike(0.5, seed=3)
    emphasised = lfilter([1, -0.97], [1], wav.astype(np.float64))
    padded = np.pad(emphasised, 400, mode="reflect")
    count = 1 + len(wav) // 200
    frames = np.stack([padded[200 * j : 200 * j + 800] for j in range(count)])  # (T, 800)
    magnitude = np.abs(np.fft.rfft(frames * get_window("hann", 800, fftbins=True), axis=1)).T  # (401, T)
    basis = librosa.filters.mel(sr=SR, n_fft=800, n_mels=80, fmin=55, fmax=7600, htk=False, norm="slaney")
    np.testing.assert_allclose(melspectrogram(wav), _wav2lip_postprocess(basis @ magnitude), atol=1e-4)


def test_mel_edges_differ_from_constant_padding() -> None:
    """librosa >= 0.10 pads with zeros by default; Wav2Lip's librosa 0.7 reflected. The edges must show it."""
    wav = _speechlike()
    emphasised = lfilter([1, -0.97], [1], wav.astype(np.float64))
    constant = librosa.feature.melspectrogram(
        y=emphasised, sr=SR, n_fft=800, hop_length=200, power=1.0, n_mels=80, fmin=55, fmax=7600, pad_mode="constant"
    )
    difference = np.abs(melspectrogram(wav) - _wav2lip_postprocess(constant)).max(axis=0)
    assert difference[0] > 0.05 and difference[-1] > 0.05
    assert difference[5:-5].max() < 1e-4


def test_mel_silence_and_tone_peak() -> None:
    assert np.all(melspectrogram(np.zeros(SR, np.float32)) == -4.0)
    t = np.arange(SR) / SR
    mel = melspectrogram((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    centres = librosa.mel_frequencies(n_mels=82, fmin=55, fmax=7600, htk=False)[1:-1]
    peak_band = int(np.argmax(mel[:, 40]))
    assert abs(centres[peak_band] - 1000) < 100


def test_mel_rejects_wrong_rate_and_stereo() -> None:
    with pytest.raises(RateError):
        melspectrogram(np.zeros(100, np.float32), sample_rate=22050)
    with pytest.raises(ValueError):
        melspectrogram(np.zeros((2, 100), np.float32))


def test_mel_window_starts_follow_wav2lip_indexing() -> None:
    starts = mel_window_starts(200, fps=25.0)
    assert list(starts) == [int(80.0 * (t / 25.0)) for t in range(200)]
    assert list(mel_window_starts(4, fps=25.0, offset=-1)) == [-4, 0, 3, 6]
    assert MEL_STEPS_PER_SECOND == 80 and MEL_WINDOW == 16


def test_mel_windows_slices_and_edge_padding() -> None:
    mel = np.arange(80 * 40, dtype=np.float32).reshape(80, 40)  # 0.5 s of mel steps
    windows = mel_windows(mel, num_frames=12)
    assert windows.shape == (12, 80, 16)
    np.testing.assert_array_equal(windows[3], mel[:, 9:25])  # int(80 * 3 / 25) = 9
    # frame 10 starts at column 32: columns 32..39 then the last column repeated 8 times
    np.testing.assert_array_equal(windows[10][:, :8], mel[:, 32:40])
    np.testing.assert_array_equal(windows[10][:, 8:], np.repeat(mel[:, 39:40], 8, axis=1))
    shifted = mel_windows(mel, num_frames=3, offset=-1)
    np.testing.assert_array_equal(shifted[1], windows[0])
    np.testing.assert_array_equal(shifted[0][:, :4], np.repeat(mel[:, :1], 4, axis=1))  # starts at -4


def test_mfcc_matches_python_speech_features_on_int16_values() -> None:
    wav = _speechlike(1.01, seed=1)
    int16 = np.clip(np.round(wav.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)
    reference = python_speech_features.mfcc(int16, SR).T  # (13, T)
    mfcc = syncnet_mfcc(wav)
    assert mfcc.shape == reference.shape == (13, 1 + int(np.ceil((len(wav) - 400) / 160)))
    np.testing.assert_allclose(mfcc, reference, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("length", [1, 399, 400, 401, 560, 561])
def test_mfcc_frame_count_and_padding_edge_cases(length: int) -> None:
    wav = _speechlike(0.1, seed=length)[:length]
    reference = python_speech_features.mfcc(to_int16_values(wav), SR).T
    mfcc = syncnet_mfcc(wav)
    assert mfcc.shape == reference.shape
    np.testing.assert_allclose(mfcc, reference, rtol=1e-5, atol=1e-3)


def test_mfcc_is_not_computed_on_unit_scale_samples() -> None:
    """syncnet_python feeds raw int16 values: c0 (log energy) differs by 2·log(32768) from unit-scale input."""
    wav = _speechlike(0.5)
    unit_scale = python_speech_features.mfcc(wav.astype(np.float64), SR).T
    mfcc = syncnet_mfcc(wav)
    np.testing.assert_allclose(mfcc[0] - unit_scale[0], 2 * np.log(32768), atol=1e-2)


def test_int16_conversion_equals_ffmpeg_pcm_s16le(tmp_path) -> None:
    samples = np.array([0.1, -0.5, 0.99999, -1.0, 1.0, 0.3333, 1.5 / 32768, 2.5 / 32768, -0.5 / 32768] * 50, np.float32)
    path = tmp_path / "s16.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SR, 0, Fraction(1, SR)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    _, written = scipy.io.wavfile.read(path)
    np.testing.assert_array_equal(to_int16_values(samples), written.astype(np.float64))


def test_mfcc_rejects_wrong_rate_and_empty() -> None:
    with pytest.raises(RateError):
        syncnet_mfcc(np.zeros(1000, np.float32), sample_rate=8000)
    with pytest.raises(ValueError):
        syncnet_mfcc(np.zeros(0, np.float32))
