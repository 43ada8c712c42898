"""Formant speech synthesis from a phoneme alignment (source–filter, FOF grains; NumPy/SciPy only).

- Glottal source: one grain per pitch period. F0 = the speaker's pitch × a declination from +8 % to −8 %
  over the utterance × a slow random intonation wobble (±4 %) × 1 % per-period jitter. Pulses are emitted
  only where the voicing envelope is on.
- Vocal tract: each grain is a sum of damped sinusoids (FOF synthesis) at the formants F1–F3 (bandwidths
  70/100/140 Hz) plus a glottal formant at the local F0 (150 Hz bandwidth) that carries the low harmonics a
  glottal source has; formant tracks are the phoneme targets × the speaker's `formant_scale`, blended across
  phonemes with a 20 ms dominance decay so transitions glide. Nasals are damped and quieter.
- Frication: white noise band-passed (4th-order Butterworth) to each phoneme's noise band, gated by its
  envelope; stop releases add a 6 ms-decay burst at 65 % of the stop interval (after a silent or voice-bar
  closure).
- Envelopes are step functions per phoneme smoothed with a 12 ms Hann window; output is normalised to a
  −6 dBFS peak with a −60 dB noise floor.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from stfbench.synth.articulation import Alignment
from stfbench.synth.phonemes import PHONEMES

BANDWIDTHS_HZ = np.array([150.0, 70.0, 100.0, 140.0])  # glottal formant, F1, F2, F3
FORMANT_GAINS = np.array([0.8, 1.0, 0.55, 0.3])
GRAIN_S = 0.025
FORMANT_TAU_S = 0.02
ENVELOPE_S = 0.012
BURST_BAND_HZ = (400.0, 3500.0)  # bilabial bursts have no frication band of their own


def _step_tracks(alignment: Alignment, num_samples: int, sample_rate: int) -> dict[str, np.ndarray]:
    """Per-sample voicing, nasal damping, noise and burst envelopes (before smoothing)."""
    voicing = np.zeros(num_samples)
    nasal = np.zeros(num_samples)
    noise_by_band: dict[tuple[float, float], np.ndarray] = {}
    for symbol, start, end in alignment:
        phoneme = PHONEMES[symbol]
        i0, i1 = (int(np.clip(round(x * sample_rate), 0, num_samples)) for x in (start, end))
        if i1 <= i0:
            continue
        if phoneme.burst:  # closure (voice bar if voiced), then release burst
            release = i0 + int(0.65 * (i1 - i0))
            voicing[i0:release] = 0.25 * phoneme.voicing
            voicing[release:i1] = phoneme.voicing
            band = phoneme.noise_band if phoneme.noise_band[1] > 0 else BURST_BAND_HZ
            envelope = noise_by_band.setdefault(band, np.zeros(num_samples))
            decay = np.exp(-np.arange(i1 - release) / (0.006 * sample_rate))
            envelope[release:i1] = np.maximum(envelope[release:i1], 0.9 * decay + phoneme.noise)
            continue
        voicing[i0:i1] = phoneme.voicing
        nasal[i0:i1] = 1.0 if phoneme.nasal else 0.0
        if phoneme.noise > 0:
            noise_by_band.setdefault(phoneme.noise_band, np.zeros(num_samples))[i0:i1] = phoneme.noise
    return {"voicing": voicing, "nasal": nasal, **{f"noise:{lo}:{hi}": v for (lo, hi), v in noise_by_band.items()}}


def _smooth(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    window = np.hanning(max(3, int(ENVELOPE_S * sample_rate)))
    return np.convolve(signal, window / window.sum(), mode="same")


def _formant_tracks(alignment: Alignment, times: np.ndarray) -> np.ndarray:
    """(len(times), 3) formant frequencies (Hz), blended across phonemes with an exponential dominance."""
    starts = np.array([s for _, s, _ in alignment])
    ends = np.array([e for _, _, e in alignment])
    targets = np.array([PHONEMES[symbol].formants for symbol, _, _ in alignment])  # (P, 3)
    distance = np.clip(starts[None] - times[:, None], 0, None) + np.clip(times[:, None] - ends[None], 0, None)
    weights = np.exp(-distance / FORMANT_TAU_S)  # (T, P)
    return weights @ targets / weights.sum(axis=1, keepdims=True)


def synthesize(
    alignment: Alignment,
    num_samples: int,
    *,
    pitch_hz: float,
    formant_scale: float,
    rng: np.random.Generator,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Speech (num_samples,) float32 in [−1, 1] for the alignment (symbol, start_s, end_s)."""
    duration = num_samples / sample_rate
    tracks = {
        name: _smooth(value, sample_rate) for name, value in _step_tracks(alignment, num_samples, sample_rate).items()
    }
    # pitch: declination × slow wobble; pulses where the accumulated phase crosses an integer
    control_times = np.arange(0.0, duration + 0.2, 0.1)
    wobble = np.interp(
        np.arange(num_samples) / sample_rate, control_times, rng.uniform(-0.04, 0.04, len(control_times))
    )
    declination = np.linspace(0.08, -0.08, num_samples)
    f0 = pitch_hz * (1.0 + declination) * (1.0 + wobble)  # (N,)
    phase = np.cumsum(f0) / sample_rate
    pulses = np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1
    pulses = np.clip(
        pulses + rng.normal(0.0, 0.01 * sample_rate / pitch_hz, len(pulses)).round().astype(int), 0, num_samples - 1
    )
    amplitude = tracks["voicing"][pulses]
    pulses, amplitude = pulses[amplitude > 0.02], amplitude[amplitude > 0.02]
    out = np.zeros(num_samples + int(GRAIN_S * sample_rate))
    if len(pulses):
        vocal_tract = _formant_tracks(alignment, pulses / sample_rate) * formant_scale  # (K, 3)
        formants = np.concatenate([f0[pulses, None], vocal_tract], axis=1)  # (K, 4)
        nasal = tracks["nasal"][pulses]  # (K,)
        tau = np.arange(int(GRAIN_S * sample_rate)) / sample_rate  # (L,)
        bandwidth = BANDWIDTHS_HZ[None] * (1.0 + 1.5 * nasal[:, None])  # (K, 4)
        ones = np.ones(len(pulses))
        gains = FORMANT_GAINS[None] * np.stack([ones, vocal_tract[:, 0] / 500.0, ones, ones], 1)  # (K, 4)
        gains *= (amplitude * (1.0 - 0.5 * nasal))[:, None]
        attack = 0.5 - 0.5 * np.cos(np.pi * np.clip(tau / 0.001, 0, 1))  # (L,) 1 ms onset
        grains = (
            gains[:, :, None]
            * np.exp(-np.pi * bandwidth[:, :, None] * tau[None, None])
            * np.sin(2 * np.pi * formants[:, :, None] * tau[None, None])
        ).sum(axis=1) * attack[None]  # (K, L)
        for start, grain in zip(pulses, grains, strict=True):
            out[start : start + len(grain)] += grain
    speech = out[:num_samples]
    white = rng.standard_normal(num_samples)
    for name, envelope in tracks.items():
        if name.startswith("noise:"):
            low, high = (float(x) for x in name.split(":")[1:])
            sos = butter(4, [low, min(high, 0.95 * sample_rate / 2)], btype="bandpass", fs=sample_rate, output="sos")
            speech += 0.35 * envelope * sosfilt(sos, white)
    peak = np.abs(speech).max()
    speech = speech * (0.5 / peak) if peak > 0 else speech
    speech += 0.001 * rng.standard_normal(num_samples)
    return np.clip(speech, -1.0, 1.0).astype(np.float32)
