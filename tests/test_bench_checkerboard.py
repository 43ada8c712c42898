"""The checkerboard benchmark's measure: high-frequency spectral energy of image regions."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_checkerboard import high_frequency_fraction, high_frequency_ratio


def _smooth(height: int = 48, width: int = 96) -> np.ndarray:
    """(1, H, W, 3) uint8: a soft blob on a gradient, like skin shading."""
    y, x = np.mgrid[:height, :width].astype(np.float64)
    value = 60 + 0.8 * x + 90 * np.exp(-((x - 50) ** 2 + (y - 24) ** 2) / 300)
    return np.repeat(np.clip(value, 0, 255).astype(np.uint8)[None, ..., None], 3, axis=3)


def _checkerboard(square: int, height: int = 48, width: int = 96) -> np.ndarray:
    y, x = np.mgrid[:height, :width]
    board = np.where((y // square + x // square) % 2 == 0, 40, 210).astype(np.uint8)
    return np.repeat(board[None, ..., None], 3, axis=3)


def test_checkerboards_score_far_higher_than_smooth_images():
    smooth = high_frequency_fraction(_smooth())
    assert 0 <= smooth < 0.01
    for square in (1, 2):  # Nyquist, and the period of a stride-2 transposed convolution
        assert high_frequency_fraction(_checkerboard(square)) > 0.9
    faint = np.clip(_smooth().astype(int) + (_checkerboard(1).astype(int) - 125) // 20, 0, 255).astype(np.uint8)
    assert high_frequency_fraction(faint) > 20 * smooth
    assert high_frequency_fraction(np.full((2, 48, 96, 3), 128, np.uint8)) == 0.0


def test_ratio_of_identical_images_is_one_and_grows_with_added_checkerboard():
    rng = np.random.default_rng(0)
    images = np.clip(np.repeat(_smooth(), 3, axis=0) + rng.normal(0, 3, (3, 48, 96, 3)), 0, 255).astype(np.uint8)
    assert high_frequency_ratio(images, images) == pytest.approx(1.0)
    noisy = np.clip(images.astype(int) + (_checkerboard(1).astype(int) - 125) // 10, 0, 255).astype(np.uint8)
    assert high_frequency_ratio(noisy, images) > 2
    with pytest.raises(ValueError, match="cutoff"):
        high_frequency_fraction(images, cutoff=0.6)


@pytest.mark.parametrize("checkpoint", ["synctalkface_tiny_synthetic", "synctalkface_tiny_synthetic_slots0"])
def test_committed_synctalkface_files_draw_no_checkerboard(micro_synthetic, checkpoint: str) -> None:
    """The committed generators on unseen synthetic faces: no more energy next to Nyquist than the ground truth
    (the files committed before 2026-12-06 had 4.4× on this corpus), and a mouth that is not painted flat."""
    from protocol_samples import protocol_samples

    protocol, root = micro_synthetic
    samples, provenance = protocol_samples("synctalkface", checkpoint, dataset=str(protocol), root=str(root))
    assert provenance["checkpoint"].endswith(f"{checkpoint}.pt") and len(samples) == 6
    half = samples[0].gt.shape[1] // 2
    generated = np.concatenate([s.generated[s.scored, half:] for s in samples])  # (N, S/2, S, 3): lower halves
    truth = np.concatenate([s.gt[s.scored, half:] for s in samples])
    assert high_frequency_ratio(generated, truth, cutoff=0.45) < 1
    assert high_frequency_ratio(generated, truth, cutoff=0.25) > 0.02
