"""PSNR / SSIM against scikit-image, FID statistics and distance against direct numpy/scipy computations."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import scipy.linalg
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from stfbench.metrics import MetricSettings, MismatchError, ScoringSample, build_metrics
from stfbench.metrics.fid import FID
from stfbench.metrics.frechet import FeatureStats, frechet_distance, load_stats, save_stats
from stfbench.metrics.psnr import PSNR
from stfbench.metrics.ssim import SSIM


def _pair(seed: int = 0, frames: int = 3, size: int = 48):
    rng = np.random.default_rng(seed)
    gt = np.stack(
        [cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 3) for _ in range(frames)]
    )
    noise = rng.integers(-40, 41, gt.shape)
    pred = np.clip(gt.astype(int) + noise, 0, 255).astype(np.uint8)
    return gt, pred


def test_psnr_matches_skimage_per_frame_and_pools_frames():
    gt, pred = _pair()
    metric = PSNR()
    clip = metric.update(ScoringSample("a", pred, gt))
    expected = np.mean([peak_signal_noise_ratio(g, p, data_range=255) for g, p in zip(gt, pred, strict=True)])
    assert clip["psnr"] == pytest.approx(expected, abs=1e-9)
    gt2, pred2 = _pair(1, frames=1)
    metric.update(ScoringSample("b", pred2, gt2))
    all_frames = [
        peak_signal_noise_ratio(g, p, data_range=255) for g, p in zip([*gt, *gt2], [*pred, *pred2], strict=True)
    ]
    assert metric.compute()["psnr"] == pytest.approx(np.mean(all_frames), abs=1e-9)


def test_ssim_default_is_wang_setting_and_matches_skimage():
    gt, pred = _pair()
    value = SSIM().update(ScoringSample("a", pred, gt))["ssim"]
    wang = np.mean(
        [
            structural_similarity(g, p, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False)
            for g, p in zip(gt, pred, strict=True)
        ]
    )  # fmt: skip
    skimage_default = np.mean(
        [structural_similarity(g, p, data_range=255, channel_axis=-1) for g, p in zip(gt, pred, strict=True)]
    )
    assert value == pytest.approx(wang, abs=1e-6)
    assert abs(value - skimage_default) > 5e-3  # the setting matters, so it must be named
    uniform = SSIM(MetricSettings.from_any({"ssim": {"gaussian_weights": False, "use_sample_covariance": True}}).ssim)
    assert uniform.update(ScoringSample("a", pred, gt))["ssim"] == pytest.approx(skimage_default, abs=1e-6)
    assert uniform.name == "ssim[uniform7,sample]" and SSIM().name == "ssim[gaussian1.5,population]"


def test_identical_clips_give_perfect_scores_and_mismatch_fails():
    gt, _ = _pair()
    psnr, ssim = build_metrics("psnr,ssim", None, "cpu")
    assert psnr.update(ScoringSample("a", gt, gt))["psnr"] == np.inf
    assert ssim.update(ScoringSample("a", gt, gt))["ssim"] == pytest.approx(1.0)
    with pytest.raises(MismatchError):
        psnr.update(ScoringSample("a", gt[:2], gt))
    with pytest.raises(MismatchError):
        ssim.update(ScoringSample("a", gt, None))


def test_state_merge_equals_single_pass_bit_for_bit():
    """Shards merged in any order, through a JSON round trip, give one process's dataset mean exactly."""
    pairs = [_pair(seed, frames=1 + seed % 3) for seed in range(6)]
    whole = SSIM()
    for i, (gt, pred) in enumerate(pairs):
        whole.update(ScoringSample(str(i), pred, gt))
    shards = [SSIM(), SSIM(), SSIM()]
    for i, (gt, pred) in enumerate(pairs):
        shards[i % 3].update(ScoringSample(str(i), pred, gt))
    merged = SSIM()
    for shard in reversed(shards):
        merged.merge(json.loads(json.dumps(shard.state_dict())))
    assert merged.compute()["ssim"] == whole.compute()["ssim"]
    assert merged.count == whole.count


def test_feature_stats_stream_equals_numpy_cov():
    x = np.random.default_rng(3).normal(size=(200, 6))
    stats = FeatureStats.empty(6)
    for chunk in np.array_split(x, 7):
        stats.add(chunk)
    np.testing.assert_allclose(stats.mu, x.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats.sigma, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)


def test_feature_stats_fold_in_blocks_and_resume_exactly(monkeypatch):
    """Rows are folded FOLD_ROWS at a time; mean and covariance include the pending rows; a state taken at
    any point and restored continues bit for bit like the uninterrupted stream; folded sums are read-only and
    replaced at a fold, never changed in place."""
    monkeypatch.setattr(FeatureStats, "FOLD_ROWS", 16)
    x = np.random.default_rng(7).normal(size=(100, 6)).astype(np.float32)
    chunks = np.array_split(x, 23)
    whole = FeatureStats.empty(6)
    identities = []
    for chunk in chunks:
        whole.add(chunk)
        identities.append(id(whole.folded_outer))
        assert whole.pending_rows < 16 and not whole.folded_outer.flags.writeable
    assert whole.n == 100 and 1 < len(set(identities)) < len(chunks)  # folded a few times, not per chunk
    np.testing.assert_allclose(whole.mu, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(whole.sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-9, atol=1e-12)
    for cut in (5, 11, 17):
        resumed = FeatureStats.empty(6)
        for chunk in chunks[:cut]:
            resumed.add(chunk)
        restored = FeatureStats.empty(6)
        restored.merge(FeatureStats.from_arrays(json_roundtrip(resumed.to_arrays())))
        for chunk in chunks[cut:]:
            restored.add(chunk)
        np.testing.assert_array_equal(restored.sigma, whole.sigma)
        np.testing.assert_array_equal(restored.mu, whole.mu)


def json_roundtrip(arrays: dict) -> dict:
    """Arrays as a run state file gives them back: plain float64 lists (a strict, lossless round trip)."""
    return {key: np.array(json.loads(json.dumps(np.asarray(value).tolist()))) for key, value in arrays.items()}


def test_frechet_distance_equals_direct_scipy():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 8)), rng.normal(0.5, 1.3, size=(250, 8))
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    direct = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-6)
    assert direct > 1.0


def _feature_fn(frames: np.ndarray) -> np.ndarray:
    """A small deterministic stand-in for Inception: per-channel means and stds (6-d)."""
    x = frames.reshape(len(frames), -1, 3).astype(np.float64)
    return np.concatenate([x.mean(1), x.std(1)], axis=1)


def test_fid_of_a_set_with_itself_is_zero_and_gt_stats_roundtrip(tmp_path):
    rng = np.random.default_rng(5)
    clips = [rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8) for _ in range(3)]
    same = FID(_feature_fn, dims=6)
    for i, clip in enumerate(clips):
        same.update(ScoringSample(str(i), clip, clip))
    assert abs(same.compute()["fid"]) < 1e-6
    stats_file = tmp_path / "gt.npz"
    same.save_gt_stats(str(stats_file))
    mu, sigma, n = load_stats(stats_file)
    assert n == 60 and mu.shape == (6,) and sigma.shape == (6, 6)
    darker = FID(_feature_fn, dims=6, frame_step=2, gt_stats=str(stats_file))
    for i, clip in enumerate(clips):
        darker.update(ScoringSample(str(i), (clip // 2).astype(np.uint8)))
    assert darker.pred.n == 30
    with pytest.warns(UserWarning, match="samples < 6"):
        _few_samples_fid(clips[0][:4])
    assert darker.compute()["fid"] > 100


def _few_samples_fid(frames):
    metric = FID(_feature_fn, dims=6)
    metric.update(ScoringSample("x", frames, frames[::-1].copy()))
    return metric.compute()


def test_saved_stats_are_pytorch_fid_compatible(tmp_path):
    stats = FeatureStats.empty(4)
    stats.add(np.random.default_rng(6).normal(size=(50, 4)))
    path = save_stats(tmp_path / "s.npz", stats)
    with np.load(path) as data:
        np.testing.assert_allclose(data["mu"], stats.mu)
        np.testing.assert_allclose(data["sigma"], stats.sigma)
