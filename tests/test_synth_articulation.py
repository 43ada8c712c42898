"""Phoneme → articulation → landmarks: closures close, open vowels open, rounding narrows, coarticulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stfbench.synth import PHONEMES, load_ground_truth
from stfbench.synth.articulation import articulation_track
from stfbench.synth.geometry import articulate
from stfbench.synth.identity import sample_identity
from stfbench.synth.render import prepare_identity

OPEN_VOWELS = {"aa", "ae", "ao", "ah"}


def _sequence(symbols: list[str], step: float = 0.12) -> list[tuple[str, float, float]]:
    return [(symbol, i * step, (i + 1) * step) for i, symbol in enumerate(symbols)]


def _centre(alignment, index: int) -> np.ndarray:
    return np.array([(alignment[index][1] + alignment[index][2]) / 2])


def _gap(landmarks: np.ndarray) -> np.ndarray:
    return (landmarks[..., [67, 66, 65], 1] - landmarks[..., [61, 62, 63], 1]).mean(axis=-1)


def _width(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[..., 54, 0] - landmarks[..., 48, 0]


def test_inventory_covers_the_required_classes() -> None:
    kinds = {p.kind for p in PHONEMES.values()}
    assert {"silence", "bilabial", "labiodental", "vowel"} <= kinds
    assert any(p.noise > 0 and p.kind in {"alveolar", "postalveolar"} for p in PHONEMES.values())  # fricatives
    vowels = [p for p in PHONEMES.values() if p.is_vowel]
    assert max(v.jaw for v in vowels) == 1.0 and min(v.jaw for v in vowels) <= 0.2  # open and close
    assert any(v.protrusion >= 0.8 for v in vowels) and any(v.spread >= 0.8 for v in vowels)  # rounded, spread


def test_bilabials_seal_the_lips_between_open_vowels() -> None:
    alignment = _sequence(["sil", "aa", "m", "aa", "p", "aa", "sil"])
    neutral = prepare_identity(sample_identity(0, 0), 160).neutral
    for index, expect_closed in [(1, False), (2, True), (3, False), (4, True), (5, False)]:
        articulation = articulation_track(alignment, _centre(alignment, index))
        gap = _gap(articulate(neutral, articulation, np.zeros(1)))[0]
        if expect_closed:
            assert articulation[0, 3] > 0.9 and gap < 0.5
        else:
            assert articulation[0, 0] > 0.8 and gap > 8.0


def test_rounded_vowels_narrow_and_spread_vowels_widen() -> None:
    neutral = prepare_identity(sample_identity(0, 1), 160).neutral
    widths = {}
    for vowel in ("uw", "iy", "aa"):
        alignment = _sequence(["sil", "hh", vowel, "sil"])
        articulation = articulation_track(alignment, _centre(alignment, 2))
        widths[vowel] = _width(articulate(neutral, articulation, np.zeros(1)))[0]
        if vowel == "uw":
            assert articulation[0, 2] > 0.7  # protruded
    rest = _width(neutral)
    assert widths["uw"] < 0.85 * rest < widths["aa"] < widths["iy"]


def test_rounding_is_anticipated_across_a_consonant() -> None:
    before_round = _sequence(["sil", "s", "t", "uw", "sil"], step=0.08)
    before_spread = _sequence(["sil", "s", "t", "iy", "sil"], step=0.08)
    t_centre = _centre(before_round, 2)
    protrusion_round = articulation_track(before_round, t_centre)[0, 2]
    protrusion_spread = articulation_track(before_spread, t_centre)[0, 2]
    assert protrusion_round > 0.2 and protrusion_spread < 0.05


def test_trajectories_are_smooth() -> None:
    alignment = _sequence(["sil", "b", "aa", "m", "iy", "w", "uw", "f", "ae", "sil"], step=0.07)
    times = np.arange(0.0, 0.7, 0.001)
    track = articulation_track(alignment, times)  # (700, 4)
    assert np.abs(np.diff(track, axis=0)).max() < 0.1  # < 0.1 per ms: no jumps
    assert np.all(track[:, 0] >= 0) and np.all(track[:, 3] <= 1)


def test_corpus_ground_truth_is_phoneme_consistent(synthetic_corpus: Path) -> None:
    closed, opened, gaps, drives = [], [], [], []
    for video in sorted(synthetic_corpus.glob("main/*/*.mp4")):
        truth = load_ground_truth(video)
        gap = _gap(truth.landmarks) / _width(truth.landmarks)  # (T,) relative opening
        jaw, closure = truth.articulation[:, 0], truth.articulation[:, 3]
        gaps.append(gap)
        drives.append((0.06 + 0.9 * jaw) * (1 - closure))
        for symbol, value in zip(truth.frame_phonemes(), gap, strict=True):
            if PHONEMES[symbol].kind == "bilabial":
                closed.append(value)
            elif symbol in OPEN_VOWELS:
                opened.append(value)
    assert len(closed) >= 5 and len(opened) >= 5
    assert np.median(closed) < 0.03 < 0.15 < np.median(opened)
    assert np.corrcoef(np.concatenate(gaps), np.concatenate(drives))[0, 1] > 0.95


@pytest.mark.parametrize("symbol", sorted(PHONEMES))
def test_every_phoneme_renders_a_valid_mouth(symbol: str) -> None:
    neutral = prepare_identity(sample_identity(0, 2), 160).neutral
    alignment = _sequence(["sil", symbol, "sil"], step=0.2)
    landmarks = articulate(neutral, articulation_track(alignment, _centre(alignment, 1)), np.zeros(1))[0]
    assert _gap(landmarks) >= -1e-9  # lips never cross
    assert landmarks[51, 1] < landmarks[62, 1] <= landmarks[66, 1] < landmarks[57, 1]  # outer/inner lip order
