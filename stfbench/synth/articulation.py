"""Coarticulated articulatory trajectories from a phoneme alignment (Cohen–Massaro dominance blending).

Each aligned phoneme i (interval [s_i, e_i], target T_i) exerts on each parameter a dominance
D_i(t) = α_i · exp(−d_i(t) / τ), where d_i(t) is the distance from t to the interval (0 inside it) and τ
differs before the interval (anticipation: the mouth moves toward an upcoming phoneme early) and after it
(carry-over). Each parameter is the dominance-weighted mean of the targets: x(t) = Σ D_i(t) T_i / Σ D_i(t).

Per parameter (τ before / after):
- jaw: α = 2 for vowels, 1 otherwise; τ = 40 / 30 ms,
- spread and protrusion: α = the phoneme's `dominance`; τ = 70 / 40 ms (lip rounding is anticipated early),
- closure: α = the phoneme's `dominance`; τ = 15 / 15 ms, so bilabials seal the lips inside their interval
  and the lips part again within the neighbouring vowel.

Frames are sampled at their centre time (i + 0.5) / fps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stfbench.synth.phonemes import PHONEMES

ARTICULATION_PARAMS = ("jaw", "spread", "protrusion", "closure")
TIME_CONSTANTS_S = np.array([[0.04, 0.03], [0.07, 0.04], [0.07, 0.04], [0.015, 0.015]])  # (4, 2) before, after

Alignment = Sequence[tuple[str, float, float]]


def frame_times(num_frames: int, fps: float) -> np.ndarray:
    """Centre time (s) of each video frame, (T,)."""
    return (np.arange(num_frames) + 0.5) / fps


def articulation_track(alignment: Alignment, times: np.ndarray) -> np.ndarray:
    """(T, 4) articulation [jaw, spread, protrusion, closure] at `times` (s) for an alignment."""
    starts = np.array([start for _, start, _ in alignment])  # (P,)
    ends = np.array([end for _, _, end in alignment])  # (P,)
    phonemes = [PHONEMES[symbol] for symbol, _, _ in alignment]
    targets = np.array([[getattr(p, name) for name in ARTICULATION_PARAMS] for p in phonemes])  # (P, 4)
    lips = np.array([p.dominance for p in phonemes])  # (P,)
    jaw = np.array([2.0 if p.is_vowel else 1.0 for p in phonemes])  # (P,)
    alpha = np.stack([jaw, lips, lips, lips], axis=1)  # (P, 4)
    before = np.clip(starts[None, :] - times[:, None], 0.0, None)[:, :, None]  # (T, P, 1)
    after = np.clip(times[:, None] - ends[None, :], 0.0, None)[:, :, None]  # (T, P, 1)
    decay = np.exp(-before / TIME_CONSTANTS_S[:, 0] - after / TIME_CONSTANTS_S[:, 1])  # (T, P, 4)
    weights = alpha[None] * decay  # (T, P, 4)
    return (weights * targets[None]).sum(axis=1) / weights.sum(axis=1)
