"""Non-speech motion: blinks and small head motion, per clip and seeded.

- Blinks: onsets drawn as a Poisson process (0.3 /s, none in the first 0.2 s); each blink closes over 60 ms,
  holds 40 ms and reopens over 100 ms (closure ∈ [0, 1]).
- Head motion: roll, scale, dx, dy as sums of three sinusoids (0.1–0.6 Hz, random phases). Amplitudes for
  `normal` clips: roll 1.5°, scale 1.5 %, shift 1.5 px (at 160 px, scaled with the frame); `large` clips (the
  synthetic stand-in for LRS2's `MV` test flag) use 2.5× these.
"""

from __future__ import annotations

import numpy as np

BLINK_RATE_HZ = 0.3
_BLINK_SHAPE_S = (0.06, 0.04, 0.1)  # close, hold, open


def blink_track(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure (T,) ∈ [0, 1] at `times` (s)."""
    duration = float(times[-1]) + 0.1 if len(times) else 0.0
    onsets = np.cumsum(rng.exponential(1.0 / BLINK_RATE_HZ, 16)) + 0.2
    closure = np.zeros_like(times)
    close, hold, reopen = _BLINK_SHAPE_S
    for onset in onsets[onsets < duration]:
        local = times - onset
        rising = np.clip(local / close, 0, 1)
        falling = np.clip(1.0 - (local - close - hold) / reopen, 0, 1)
        closure = np.maximum(closure, np.minimum(rising, falling) * (local >= 0))
    return closure


def head_pose_track(times: np.ndarray, rng: np.random.Generator, size: int, large: bool = False) -> np.ndarray:
    """Head pose (T, 4): roll (rad), scale − 1, dx (px), dy (px)."""
    gain = 2.5 if large else 1.0
    amplitudes = gain * np.array([np.deg2rad(1.5), 0.015, 1.5 * size / 160, 1.5 * size / 160])  # (4,)
    frequencies = rng.uniform(0.1, 0.6, (4, 3))  # (4, 3) Hz
    phases = rng.uniform(0.0, 2 * np.pi, (4, 3))
    weights = rng.dirichlet(np.ones(3), 4)  # (4, 3) sums to 1 per parameter
    waves = np.sin(2 * np.pi * frequencies[None] * times[:, None, None] + phases[None])  # (T, 4, 3)
    return (waves * weights[None]).sum(axis=2) * amplitudes[None]
