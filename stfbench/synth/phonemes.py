"""The phoneme inventory: articulatory targets (what the mouth does) and acoustic targets (what it sounds like).

Symbols are ARPAbet-like lower case. Articulation values (all per phoneme target, dimensionless):

- `jaw` ∈ [0, 1]: jaw/lip opening (0 = rest, 1 = widest open vowel),
- `spread` ∈ [−1, 1]: lip width (+1 = spread, as in "ee"; −1 = narrowed/rounded),
- `protrusion` ∈ [0, 1]: lip protrusion/rounding (1 = "oo"),
- `closure` ∈ [0, 1]: lip closure (1 = lips sealed as in p/b/m; 0.8 = lower lip on the upper teeth, f/v).

`dominance` says how strongly a phoneme imposes its target on its neighbours (Cohen–Massaro
coarticulation, see `articulation.py`): bilabials and labiodentals dominate lip closure, open vowels the jaw.

Acoustics: formants F1–F3 in Hz for voiced sounds, `voicing` ∈ [0, 1] (glottal source level), `noise`
∈ [0, 1] with a frication band (`noise_band`, Hz), `burst` for stop releases, nasal murmur for m/n/ng.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phoneme:
    """One phoneme: its class, articulatory and acoustic targets and typical duration (s)."""

    symbol: str
    kind: str  # silence, bilabial, labiodental, dental, alveolar, postalveolar, velar, glottal, approximant, vowel
    jaw: float
    spread: float
    protrusion: float
    closure: float
    dominance: float
    formants: tuple[float, float, float]
    voicing: float
    noise: float = 0.0
    noise_band: tuple[float, float] = (0.0, 0.0)
    burst: bool = False
    nasal: bool = False
    duration: float = 0.08

    @property
    def is_vowel(self) -> bool:
        return self.kind == "vowel"


def _p(symbol, kind, jaw, spread, protrusion, closure, dominance, formants, voicing, **acoustic) -> Phoneme:
    return Phoneme(symbol, kind, jaw, spread, protrusion, closure, dominance, formants, voicing, **acoustic)


_NEUTRAL = (500.0, 1500.0, 2500.0)

PHONEMES: dict[str, Phoneme] = {
    p.symbol: p
    for p in [
        _p("sil", "silence", 0.0, 0.0, 0.0, 1.0, 0.5, _NEUTRAL, 0.0, duration=0.2),
        # bilabials: lips sealed (stops release with a burst)
        _p("p", "bilabial", 0.08, 0.0, 0.1, 1.0, 6.0, (400.0, 1000.0, 2300.0), 0.0, burst=True, duration=0.09),
        _p("b", "bilabial", 0.08, 0.0, 0.1, 1.0, 6.0, (300.0, 900.0, 2300.0), 0.6, burst=True, duration=0.08),
        _p("m", "bilabial", 0.08, 0.0, 0.05, 1.0, 6.0, (280.0, 1100.0, 2300.0), 0.9, nasal=True, duration=0.08),
        # labiodentals: lower lip against the upper teeth
        _p("f", "labiodental", 0.15, 0.05, 0.0, 0.8, 4.0, _NEUTRAL, 0.0, noise=0.35, noise_band=(1500.0, 7000.0)),
        _p(
            "v",
            "labiodental",
            0.15,
            0.05,
            0.0,
            0.8,
            4.0,
            (350.0, 1300.0, 2400.0),
            0.6,
            noise=0.2,
            noise_band=(1500.0, 7000.0),
            duration=0.07,
        ),
        # dental / alveolar / post-alveolar fricatives
        _p("th", "dental", 0.25, 0.1, 0.0, 0.0, 1.5, _NEUTRAL, 0.0, noise=0.25, noise_band=(1400.0, 7000.0)),
        _p(
            "s",
            "alveolar",
            0.15,
            0.45,
            0.0,
            0.3,
            2.0,
            _NEUTRAL,
            0.0,
            noise=0.6,
            noise_band=(4000.0, 7800.0),
            duration=0.1,
        ),
        _p(
            "z",
            "alveolar",
            0.15,
            0.45,
            0.0,
            0.3,
            2.0,
            (300.0, 1600.0, 2600.0),
            0.6,
            noise=0.4,
            noise_band=(4000.0, 7800.0),
            duration=0.08,
        ),
        _p(
            "sh",
            "postalveolar",
            0.2,
            -0.4,
            0.7,
            0.25,
            2.5,
            _NEUTRAL,
            0.0,
            noise=0.6,
            noise_band=(2000.0, 5500.0),
            duration=0.1,
        ),
        # alveolar / velar stops and nasals
        _p(
            "t",
            "alveolar",
            0.22,
            0.1,
            0.0,
            0.0,
            0.8,
            (400.0, 1700.0, 2600.0),
            0.0,
            noise=0.1,
            noise_band=(3000.0, 7000.0),
            burst=True,
            duration=0.07,
        ),
        _p("d", "alveolar", 0.22, 0.1, 0.0, 0.0, 0.8, (300.0, 1700.0, 2600.0), 0.6, burst=True, duration=0.06),
        _p("n", "alveolar", 0.22, 0.1, 0.0, 0.0, 0.8, (280.0, 1700.0, 2600.0), 0.9, nasal=True, duration=0.07),
        _p(
            "k",
            "velar",
            0.3,
            0.0,
            0.0,
            0.0,
            0.6,
            (400.0, 1900.0, 2500.0),
            0.0,
            noise=0.1,
            noise_band=(1500.0, 4000.0),
            burst=True,
            duration=0.08,
        ),
        _p("g", "velar", 0.3, 0.0, 0.0, 0.0, 0.6, (300.0, 1900.0, 2500.0), 0.6, burst=True, duration=0.07),
        _p(
            "hh",
            "glottal",
            0.4,
            0.0,
            0.0,
            0.0,
            0.3,
            _NEUTRAL,
            0.0,
            noise=0.3,
            noise_band=(600.0, 4000.0),
            duration=0.06,
        ),
        # approximants
        _p("l", "approximant", 0.35, 0.1, 0.0, 0.0, 0.8, (360.0, 1100.0, 2700.0), 1.0, duration=0.07),
        _p("r", "approximant", 0.25, -0.3, 0.5, 0.0, 1.5, (420.0, 1300.0, 1600.0), 1.0, duration=0.07),
        _p("w", "approximant", 0.15, -0.9, 0.9, 0.0, 3.0, (300.0, 700.0, 2200.0), 1.0, duration=0.07),
        _p("y", "approximant", 0.2, 0.6, 0.0, 0.0, 1.5, (280.0, 2200.0, 3000.0), 1.0, duration=0.06),
        # vowels: open, mid, close, spread and rounded
        _p("aa", "vowel", 1.0, 0.1, 0.0, 0.0, 2.0, (750.0, 1150.0, 2500.0), 1.0, duration=0.14),
        _p("ae", "vowel", 0.8, 0.5, 0.0, 0.0, 2.0, (680.0, 1700.0, 2450.0), 1.0, duration=0.13),
        _p("ah", "vowel", 0.65, 0.15, 0.0, 0.0, 1.5, (620.0, 1200.0, 2550.0), 1.0, duration=0.1),
        _p("eh", "vowel", 0.55, 0.45, 0.0, 0.0, 1.5, (560.0, 1800.0, 2550.0), 1.0, duration=0.11),
        _p("ih", "vowel", 0.35, 0.5, 0.0, 0.0, 1.5, (400.0, 2000.0, 2600.0), 1.0, duration=0.09),
        _p("iy", "vowel", 0.2, 1.0, 0.0, 0.0, 2.0, (290.0, 2300.0, 3000.0), 1.0, duration=0.12),
        _p("uh", "vowel", 0.35, -0.5, 0.6, 0.0, 1.5, (450.0, 1050.0, 2300.0), 1.0, duration=0.1),
        _p("uw", "vowel", 0.2, -1.0, 1.0, 0.0, 2.5, (310.0, 850.0, 2250.0), 1.0, duration=0.13),
        _p("ow", "vowel", 0.55, -0.7, 0.8, 0.0, 2.0, (500.0, 900.0, 2400.0), 1.0, duration=0.14),
        _p("ao", "vowel", 0.75, -0.4, 0.5, 0.0, 2.0, (600.0, 950.0, 2500.0), 1.0, duration=0.14),
        _p("er", "vowel", 0.35, -0.2, 0.4, 0.0, 1.5, (480.0, 1350.0, 1700.0), 1.0, duration=0.12),
    ]
}

PHONEME_KINDS = tuple(sorted({p.kind for p in PHONEMES.values()}))
