"""Formant speech: silence is quiet, vowels carry pitch and formants, fricatives are high-band noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from stfbench.media import read_clip
from stfbench.synth import load_ground_truth
from stfbench.synth.speech import synthesize

RATE = 16000


def _speak(symbols: list[str], step: float = 0.2, pitch: float = 120.0, seed: int = 0):
    alignment = [(s, i * step, (i + 1) * step) for i, s in enumerate(symbols)]
    audio = synthesize(
        alignment, round(len(symbols) * step * RATE), pitch_hz=pitch, formant_scale=1.0, rng=np.random.default_rng(seed)
    )
    return alignment, audio


def _segment(audio: np.ndarray, interval: tuple[str, float, float], margin: float = 0.04) -> np.ndarray:
    return audio[int((interval[1] + margin) * RATE) : int((interval[2] - margin) * RATE)]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def _band_energy(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def _centroid(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float((spectrum * freqs).sum() / spectrum.sum())


def test_output_format_and_determinism() -> None:
    _, audio = _speak(["sil", "aa", "s", "sil"])
    assert audio.dtype == np.float32 and audio.shape == (int(0.8 * RATE),)
    assert np.abs(audio).max() <= 1.0 and np.abs(audio).max() > 0.3
    np.testing.assert_array_equal(audio, _speak(["sil", "aa", "s", "sil"])[1])
    assert not np.array_equal(audio, _speak(["sil", "aa", "s", "sil"], seed=1)[1])


def test_silence_is_quiet_and_vowels_loud() -> None:
    alignment, audio = _speak(["sil", "aa", "sil", "iy", "sil"])
    silence, vowel = _rms(_segment(audio, alignment[2])), _rms(_segment(audio, alignment[1]))
    assert vowel > 30 * silence


def test_vowel_pitch_follows_the_speaker() -> None:
    for pitch in (100.0, 200.0):
        alignment, audio = _speak(["sil", "aa", "sil"], step=0.3, pitch=pitch)
        segment = _segment(audio, alignment[1], margin=0.04)
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), 16384))  # 0.98 Hz bins
        freqs = np.fft.rfftfreq(16384, 1 / RATE)
        peaks, _ = find_peaks(spectrum, height=0.2 * spectrum.max(), distance=40)
        estimate = freqs[peaks][freqs[peaks] > 60].min()  # the fundamental: lowest strong harmonic
        assert abs(estimate - pitch) / pitch < 0.12  # declination and wobble stay within ±12 %


def test_vowel_formants_differ() -> None:
    alignment, audio = _speak(["sil", "aa", "sil", "iy", "sil"])
    aa, iy = _segment(audio, alignment[1]), _segment(audio, alignment[3])
    # /aa/: high F1 (~750 Hz), low F2; /iy/: low F1 (~290 Hz), high F2 (~2300 Hz)
    assert _band_energy(aa, 600, 900) / _band_energy(aa, 200, 400) > _band_energy(iy, 600, 900) / _band_energy(
        iy, 200, 400
    )
    assert _band_energy(iy, 2000, 2800) / _band_energy(iy, 0, 1000) > 3 * (
        _band_energy(aa, 2000, 2800) / _band_energy(aa, 0, 1000)
    )


def test_fricatives_are_high_band_noise() -> None:
    alignment, audio = _speak(["sil", "s", "aa", "sh", "sil"])
    s, aa, sh = (_segment(audio, alignment[i]) for i in (1, 2, 3))
    assert _centroid(s) > 4000 > _centroid(sh) > 2000 > _centroid(aa)


def test_stop_closure_is_silent_before_the_burst() -> None:
    alignment, audio = _speak(["aa", "p", "aa"], step=0.2)
    start = alignment[1][1]
    closure = audio[int((start + 0.03) * RATE) : int((start + 0.11) * RATE)]
    burst = audio[int((start + 0.13) * RATE) : int((start + 0.15) * RATE)]
    assert _rms(closure) < 0.05 * _rms(_segment(audio, alignment[0]))
    assert _rms(burst) > 5 * _rms(closure)


def test_corpus_audio_is_speech_where_the_alignment_says(synthetic_corpus: Path) -> None:
    for video in sorted(synthetic_corpus.glob("main/*/*.mp4"))[:2]:
        truth, audio = load_ground_truth(video), read_clip(video).audio
        silent = [p for p in truth.phonemes if p[0] == "sil" and p[2] - p[1] > 0.15]
        vowels = [p for p in truth.phonemes if p[0] in {"aa", "ae", "ah", "ao", "eh", "iy", "uw", "ow"}]
        assert silent and vowels
        quiet = np.mean([_rms(_segment(audio, p)) for p in silent])
        loud = np.mean([_rms(_segment(audio, p, margin=0.02)) for p in vowels])
        assert loud > 10 * quiet
