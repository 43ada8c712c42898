"""Memory analysis: usage, entropy and phoneme association on hand-built addresses; one-hot mouth grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stfbench.errors import StfbenchError
from stfbench.reference_model import analysis
from stfbench.reference_model.config import model_preset
from stfbench.reference_model.generator import SyncTalkFace


def test_usage_entropy_and_association_by_hand():
    addresses = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    report = analysis.analyse(addresses, ["aa", "m", "m", "sil"])
    np.testing.assert_allclose(report.slot_usage, [0.75, 0.25, 0.0])  # argmax ties go to the first slot
    assert report.slots_used == 2
    assert report.entropy == pytest.approx((0 + 0 + math.log(2) + math.log(3)) / 4)
    assert report.max_entropy == pytest.approx(math.log(3))
    assert report.phonemes == ["aa", "m", "sil"]
    np.testing.assert_allclose(report.association[1], [0.25, 0.75, 0.0])
    rows = {r["phoneme"]: r for r in report.table()}
    assert rows["m"]["top_slot"] == 1 and rows["m"]["frames"] == 2


def test_mismatched_labels_are_an_error():
    with pytest.raises(StfbenchError, match="labels"):
        analysis.analyse(np.ones((3, 2)) / 2, ["a"])


def test_slot_mouth_grid_and_plots(tmp_path):
    torch.manual_seed(0)
    model = SyncTalkFace(model_preset("micro")).eval()
    crop = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    mouths = analysis.slot_mouths(model, crop, crop)
    assert mouths.shape == (8, 32, 64, 3) and mouths.dtype == np.uint8
    one_hot = torch.eye(8)[:2]
    target = torch.rand(2, 3, 64, 64)
    frames = model.decode_address(one_hot, torch.full((2, 1, 80, 16), -4.0), target, target)
    assert not torch.equal(frames[0], frames[1])  # different slots decode to different mouths
    report = analysis.analyse(analysis.key_addresses(model, np.zeros((5, 80, 16), np.float32)), ["a"] * 5)
    assert report.frames == 5
    for plot in (analysis.plot_usage(report, tmp_path / "u.png"), analysis.plot_association(report, tmp_path / "a.png"),
                 analysis.plot_slot_mouths(mouths, tmp_path / "m.png")):  # fmt: skip
        assert plot.stat().st_size > 1000


def test_memory_off_checkpoint_has_nothing_to_analyse():
    model = SyncTalkFace(model_preset("micro", slots=0))
    with pytest.raises(StfbenchError, match="slots=0"):
        analysis.key_addresses(model, np.zeros((1, 80, 16), np.float32))
