"""LPIPS through the registry with seeded random trunk weights (only to exercise the loading code)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from stfbench.errors import WeightsError
from stfbench.metrics import ScoringSample, build_metrics


@pytest.fixture
def random_alexnet(tmp_path, monkeypatch):
    torch.manual_seed(0)
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save(torchvision.models.alexnet().state_dict(), path)
    monkeypatch.setenv("STFBENCH_WEIGHT_LPIPS_ALEX", str(path))
    return path


def test_random_trunk_is_refused_then_loaded_and_labelled_unverified(random_alexnet):
    with pytest.raises(WeightsError, match="trust-unverified"):
        build_metrics("lpips", None, "cpu")
    (lpips,) = build_metrics("lpips", None, "cpu", trust_unverified=True)
    assert lpips.name == "lpips-alex-unverified"
    trunk = torch.load(random_alexnet, weights_only=True)["features.0.weight"]
    assert torch.equal(lpips.model.net.slice1[0].weight, trunk)  # the trunk really came from the file
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    assert lpips.update(ScoringSample("same", gt, gt))["lpips"] == pytest.approx(0.0, abs=1e-6)
    noisy = np.clip(gt.astype(int) + rng.integers(-60, 61, gt.shape), 0, 255).astype(np.uint8)
    assert lpips.update(ScoringSample("noisy", noisy, gt))["lpips"] > 0
    settings = lpips.settings()
    assert settings["weights"]["lpips_alex"]["verified"] is False
    assert settings["weights"]["lpips_alex_head"]["verified"] is True
