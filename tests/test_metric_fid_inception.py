"""FID through the registry with seeded random Inception weights (exercises loading and preprocessing)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from pytorch_fid.fid_score import get_activations

from stfbench.errors import WeightsError
from stfbench.metrics import ScoringSample, build_metrics
from stfbench.metrics.networks.inception import inception_features, load_fid_inception


def test_features_equal_pytorch_fid_on_image_files(random_inception, tmp_path):
    model = load_fid_inception(random_inception, dims=64)
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
    files = []
    for i, frame in enumerate(frames):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(frame).save(files[-1])
    ours = inception_features(model, frames, torch.device("cpu"), batch_size=2)
    reference = get_activations([str(f) for f in files], model, batch_size=3, dims=64, device="cpu")
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


def test_wrong_file_refused_and_trusted_one_is_labelled(random_inception, monkeypatch):
    monkeypatch.setenv("STFBENCH_WEIGHT_PT_INCEPTION", random_inception)
    with pytest.raises(WeightsError, match="refusing"):
        build_metrics("fid", None, "cpu")
    (fid,) = build_metrics("fid", {"fid": {"dims": 64, "frame_step": 2}}, "cpu", trust_unverified=True)
    assert fid.name == "fid[inception-pool3,step2]-unverified"
    frames = np.random.default_rng(1).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    fid.update(ScoringSample("a", frames, frames))
    with pytest.warns(UserWarning, match="samples < 64"):
        value = fid.compute()["fid"]
    assert abs(value) < 1e-3 and fid.pred.n == 4
    assert fid.settings()["weights"]["verified"] is False


def test_not_an_inception_state_dict(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match="not a pytorch-fid Inception"):
        load_fid_inception(path)


def test_a_trusted_unverified_inception_is_not_reported_missing(random_inception, monkeypatch, tmp_path):
    from stfbench.metrics import missing_weights

    monkeypatch.setenv("STFBENCH_WEIGHT_PT_INCEPTION", random_inception)  # a seeded file: fails verification
    assert "size" in missing_weights(["fid"])["fid"]
    assert missing_weights(["fid"], trust_unverified=True) == {}  # --trust-unverified: used (and labelled), not n/a
    monkeypatch.setenv("STFBENCH_WEIGHT_PT_INCEPTION", str(tmp_path / "absent.pth"))
    assert "fid" in missing_weights(["fid"], trust_unverified=True)
