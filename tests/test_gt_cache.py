"""The ground-truth cache (stfbench.metrics.gt_cache): entries keyed by frames and namespace, cold == warm ==
uncached, ground-truth work skipped when warm, invalidation by frames and settings, and `stfbench cache`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_fakes import run_records
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.metrics.base import ScoringSample
from stfbench.metrics.fid import FID
from stfbench.metrics.gt_cache import GTCache, content_key, namespace_key
from stfbench.metrics.lmd import LMD


def test_an_entry_round_trips_and_an_unreadable_one_is_a_miss(tmp_path: Path) -> None:
    cache = GTCache(tmp_path)
    points, found = np.linspace(0, 1, 12).reshape(3, 2, 2), np.array([True, False, True])
    assert cache.load("lmd", "ns", "k") is None
    cache.save("lmd", "ns", "k", {"backend": "x"}, points=points, found=found)
    loaded = cache.load("lmd", "ns", "k")
    assert loaded is not None and loaded["points"].dtype == np.float64 and loaded["found"].dtype == bool
    assert np.array_equal(loaded["points"], points) and np.array_equal(loaded["found"], found)
    assert json.loads((tmp_path / "lmd" / "ns" / "identity.json").read_text()) == {"backend": "x"}
    assert [p.name for p in (tmp_path / "lmd" / "ns").iterdir() if p.name.startswith(".")] == []  # no temporaries
    entry = tmp_path / "lmd" / "ns" / "k.npz"
    entry.write_bytes(entry.read_bytes()[:40])  # truncated
    assert cache.load("lmd", "ns", "k") is None
    np.savez(entry, points=np.array([{"a": 1}], dtype=object))  # would need unpickling: refused, a miss
    assert cache.load("lmd", "ns", "k") is None


def test_keys_follow_the_frames_and_the_identity() -> None:
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    changed = frames.copy()
    changed[1, 2, 3, 0] = 1
    assert content_key(frames) == content_key(frames.copy()) != content_key(changed)
    assert content_key(frames) != content_key(frames.reshape(4, 2, 4, 3))  # same bytes, other shape
    assert content_key(frames[:, ::2]) == content_key(np.ascontiguousarray(frames[:, ::2]))
    assert namespace_key({"a": 1, "b": {"c": 2}}) == namespace_key({"b": {"c": 2}, "a": 1})
    assert namespace_key({"a": 1, "b": {"c": 2}}) != namespace_key({"a": 1, "b": {"c": 3}})


class _CountingLandmarker:
    """Landmarks from the frame's pixels (None for an all-black frame); counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        self.calls += 1
        if not frame.any():
            return None
        return (frame.reshape(-1, 3)[:68, :2] / 7.0).astype(np.float64)  # (68, 2)


def _samples(seed: int, clips: int = 3, frames: int = 5) -> list[ScoringSample]:
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(clips):
        gt = rng.integers(0, 256, (frames, 16, 16, 3), dtype=np.uint8)
        gt[0] = 0  # no face in the first ground-truth frame
        pred = np.clip(gt.astype(int) + rng.integers(-9, 10, gt.shape), 0, 255).astype(np.uint8)
        samples.append(ScoringSample(f"c{index}", pred, gt))
    return samples


def _lmd(cache: GTCache | None, identity: dict | None = None) -> tuple[LMD, _CountingLandmarker]:
    landmarker = _CountingLandmarker()
    metric = LMD(landmarker, identity=identity if identity is not None else {"landmarker": "counting"})
    metric.use_gt_cache(cache)
    return metric, landmarker


def test_lmd_warm_equals_cold_and_uncached_and_skips_the_ground_truth_landmarks(tmp_path: Path) -> None:
    cache, samples = GTCache(tmp_path), _samples(0)
    results = {}
    for case in ("uncached", "cold", "warm"):
        metric, landmarker = _lmd(None if case == "uncached" else cache)
        values = [metric.update(sample) for sample in samples]
        results[case] = values, metric.compute(), metric.state_dict(), landmarker.calls
    assert results["cold"][:3] == results["warm"][:3] == results["uncached"][:3]
    assert results["uncached"][3] == results["cold"][3] == 3 * (5 + 4)  # GT frames, then pred where GT has a face
    assert results["warm"][3] == 3 * 4  # only the generated frames
    assert results["cold"][0][0]["lmd_frames_no_face"] == 1

    other = _samples(0)
    other[1].gt_crops[2, 0, 0, 0] ^= 1  # one ground-truth pixel changed: that clip is recomputed
    metric, landmarker = _lmd(cache)
    for sample in other:
        metric.update(sample)
    assert landmarker.calls == 3 * 4 + 5
    metric, landmarker = _lmd(cache, identity={"landmarker": "counting", "upsample": 2})  # other settings
    assert metric.gt_namespace != _lmd(cache)[0].gt_namespace
    for sample in samples:
        metric.update(sample)
    assert landmarker.calls == 3 * (5 + 4)
    assert len(list((tmp_path / "lmd").iterdir())) == 2


def test_fid_warm_equals_cold_bit_for_bit_and_a_metric_without_identity_is_not_cached(tmp_path: Path) -> None:
    calls = []

    def features(frames: np.ndarray) -> np.ndarray:  # (N, 16, 16, 3) → (N, 8) float32
        calls.append(len(frames))
        return frames.reshape(len(frames), -1)[:, :8].astype(np.float32) / 255.0

    cache, samples = GTCache(tmp_path), _samples(1, clips=4)
    states = []
    for _ in ("cold", "warm"):
        calls.clear()
        metric = FID(features, dims=8, frame_step=2, identity={"features": "toy"})
        assert metric.use_gt_cache(cache) is not None
        for sample in samples:
            metric.update(sample)
        states.append((metric.state_dict(), metric.compute(), list(calls)))
    (cold, cold_fid, cold_calls), (warm, warm_fid, warm_calls) = states
    assert cold_calls == [3, 3] * 4 and warm_calls == [3] * 4  # warm: the generated frames only
    assert cold_fid == warm_fid and all(np.array_equal(cold["gt"][k], warm["gt"][k]) for k in cold["gt"])

    plain = FID(features, dims=8)  # built without an identity (e.g. a test's closure): never cached
    assert plain.use_gt_cache(GTCache(tmp_path / "other")) is None
    plain.update(samples[0])
    assert not (tmp_path / "other").exists()


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _values(folder: Path) -> tuple[list[dict], dict]:
    summary = json.loads((folder / "summary.json").read_text())
    return run_records(folder), {k: v for k, v in summary.items() if k not in ("provenance", "timing")}


def test_run_cold_warm_and_uncached_are_identical_and_cache_lists_and_clears(
    micro_synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stfbench_script
) -> None:
    protocol, root = micro_synthetic
    monkeypatch.setenv("STFBENCH_CACHE", str(tmp_path / "cache"))
    common = ("run", "--model", "static", "--dataset", str(protocol), "--root", str(root), "--metrics", "psnr,lmd")
    _invoke(*common, "--out", str(tmp_path / "cold"), "--workers", "2")  # workers fill the cache
    entries = sorted((tmp_path / "cache" / "gt" / "lmd").glob("*/*.npz"))
    assert len(entries) == 6
    written = [p.stat().st_mtime_ns for p in entries]
    _invoke(*common, "--out", str(tmp_path / "warm"), "--workers", "1")
    assert [p.stat().st_mtime_ns for p in entries] == written  # read, not rewritten
    _invoke(*common, "--out", str(tmp_path / "uncached"), "--no-gt-cache")
    assert _values(tmp_path / "cold") == _values(tmp_path / "warm") == _values(tmp_path / "uncached")
    manifests = {case: json.loads((tmp_path / case / "manifest.json").read_text()) for case in ("cold", "uncached")}
    ((name, namespace),) = manifests["cold"]["gt_cache"]["namespaces"].items()
    assert name.startswith("lmd[") and entries[0].parent.name == namespace
    assert manifests["uncached"]["gt_cache"] is None

    shown = stfbench_script("cache", "info", "--format", "json")  # the console script, as users run it
    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)["gt_namespaces"]
    assert row["namespace"] == namespace and row["entries"] == 6 and row["identity"]["landmarker"]["backend"] == "dlib"
    cleared = stfbench_script("cache", "clear", "gt")  # 6 entries and the namespace's identity.json
    assert cleared.returncode == 0 and "cleared gt: 7 files" in cleared.stdout, cleared.stderr
    assert not (tmp_path / "cache" / "gt").exists()
    assert (tmp_path / "cache" / "prepared").is_dir()  # other parts stay
    refused = stfbench_script("cache", "clear", "weights")  # imported weights are never cleared
    assert refused.returncode == 2 and "invalid value" in refused.stderr.lower()


@pytest.mark.filterwarnings("ignore:FID .* samples < 2048")  # 15 samples: a cache test, not an FID value
def test_score_fid_and_lmd_cold_equals_warm(micro_synthetic, random_inception, tmp_path, monkeypatch) -> None:
    protocol, root = micro_synthetic
    monkeypatch.setenv("STFBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("STFBENCH_WEIGHT_PT_INCEPTION", random_inception)
    clips = sorted((root / "main").rglob("*.mp4"))[:3]
    pred = tmp_path / "pred"
    pred.mkdir()
    for clip in clips:
        (pred / f"{clip.parent.name}_{clip.stem}.mp4").symlink_to(clip)
    for case in ("cold", "warm"):
        _invoke("score", "--pred", str(pred), "--gt", str(pred), "--dataset", str(protocol), "--metrics", "fid,lmd",
                "--fid-frame-step", "5", "--trust-unverified", "--out", str(tmp_path / case))  # fmt: skip
    assert len(list((tmp_path / "cache" / "gt" / "fid").glob("*/*.npz"))) == 3
    cold, warm = (json.loads((tmp_path / c / "summary.json").read_text()) for c in ("cold", "warm"))
    assert cold["fid"] == warm["fid"] and cold["lmd"] == warm["lmd"] and cold["n_scored"] == 3
    assert set(cold["provenance"]["gt_cache"]["namespaces"]) == set(cold["metric_settings"])
