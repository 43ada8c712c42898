"""Synthetic identities: a portrait base plus geometry, colour, background and voice, drawn from a seed.

Identity k of corpus seed s is fully determined by (s, k) (NumPy `SeedSequence([s, 0x1D, k])`), so the same
speaker looks and sounds the same in every clip and in every corpus built with that seed. Bases cycle through
the portraits and their mirror images (4 bases), so neighbouring speaker ids differ in base face.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from stfbench.synth.portraits import PORTRAITS

BACKGROUND_PATTERNS = ("none", "brick", "grass", "gravel", "stripes")


@dataclass(frozen=True)
class FaceShape:
    """Identity geometry factors (near 1) applied to the canonical landmarks; `mouth_shift` in units of S."""

    face_width: float = 1.0
    jaw_length: float = 1.0
    eye_spacing: float = 1.0
    nose_length: float = 1.0
    mouth_width: float = 1.0
    mouth_shift: float = 0.0


@dataclass(frozen=True)
class Identity:
    """Everything that makes one synthetic speaker: face base, shape, colours, background, voice."""

    index: int
    portrait: str
    mirrored: bool
    shape: FaceShape
    skin_gain: tuple[float, float, float]  # RGB multipliers on the face skin
    hue_shift: float  # degrees, applied to hair/clothes/background
    surround_gain: float  # brightness multiplier on hair/clothes/background
    pattern: str  # background texture (one of BACKGROUND_PATTERNS)
    pattern_alpha: float  # background texture opacity ∈ [0, 1]
    pitch_hz: float  # mean F0 of the voice
    formant_scale: float  # vocal-tract length factor on F1–F3 (shorter tract → higher formants)
    speech_rate: float  # phoneme duration divisor (> 1 = faster)

    def to_json(self) -> dict:
        return asdict(self)


def sample_identity(seed: int, index: int) -> Identity:
    """The `index`-th identity of corpus seed `seed` (deterministic)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1D, index]))
    base = index % (2 * len(PORTRAITS))
    tone = rng.uniform(0.62, 1.08)
    warmth = rng.uniform(-0.06, 0.06)
    shape = {
        "face_width": rng.uniform(0.93, 1.07),
        "jaw_length": rng.uniform(0.95, 1.05),
        "eye_spacing": rng.uniform(0.96, 1.04),
        "nose_length": rng.uniform(0.92, 1.08),
        "mouth_width": rng.uniform(0.92, 1.08),
        "mouth_shift": rng.uniform(-0.012, 0.012),
    }
    low_voice = rng.random() < 0.5
    return Identity(
        index=index,
        portrait=PORTRAITS[base % len(PORTRAITS)],
        mirrored=base >= len(PORTRAITS),
        shape=FaceShape(**{k: round(float(v), 4) for k, v in shape.items()}),
        skin_gain=tuple(round(float(tone * g), 4) for g in (1.0 + warmth, 1.0, 1.0 - warmth)),
        hue_shift=round(float(rng.uniform(0.0, 360.0)), 2),
        surround_gain=round(float(rng.uniform(0.7, 1.2)), 4),
        pattern=BACKGROUND_PATTERNS[int(rng.integers(len(BACKGROUND_PATTERNS)))],
        pattern_alpha=round(float(rng.uniform(0.15, 0.4)), 4),
        pitch_hz=round(float(rng.uniform(95.0, 135.0) if low_voice else rng.uniform(170.0, 235.0)), 2),
        formant_scale=round(float(rng.uniform(0.95, 1.02) if low_voice else rng.uniform(1.05, 1.15)), 4),
        speech_rate=round(float(rng.uniform(0.9, 1.15)), 4),
    )
