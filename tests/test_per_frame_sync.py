"""Per-frame sync (syncnet_python's fconf / fconfm) and the 31-value offset curve: the definition on
hand-built embeddings, the sidecar files `score --per-frame` writes, and `stfbench plot sync`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from stfbench.media import write_clip
from stfbench.metrics.sync import SyncResult, sync_distances, sync_scores


def _medfilt_by_hand(x: np.ndarray, kernel: int) -> np.ndarray:
    """Median of each `kernel`-long window, the signal padded with zeros at both ends."""
    padded = np.concatenate([np.zeros(kernel // 2), x, np.zeros(kernel // 2)])
    return np.array([np.median(padded[i : i + kernel]) for i in range(len(x))])


def test_per_window_confidence_follows_the_definition_on_hand_built_features():
    """Audio embeddings equal to the video's two windows later, except in windows 8–11 (noise): the best offset
    is found, those windows get a low confidence, and every value equals median(mean curve) − d[i, k*]."""
    rng = np.random.default_rng(0)
    windows, dims, vshift, lag = 24, 8, 15, 2
    video = torch.tensor(rng.normal(size=(windows, dims)), dtype=torch.float32)  # (N, E)
    audio = torch.tensor(rng.normal(size=(windows, dims)), dtype=torch.float32)  # (N, E)
    audio[lag:] = video[: windows - lag]  # audio window i + lag ↔ video window i
    audio[8 + lag : 12 + lag] = torch.tensor(rng.normal(size=(4, dims)), dtype=torch.float32)
    dists = sync_distances(video, audio, vshift)  # (N, 31)
    result = sync_scores(dists, vshift)
    d = dists.double().numpy()
    mean = d.mean(axis=0)  # (31,)
    best = int(np.argmin(mean))
    assert result.offsets[best] == result.av_offset == -lag  # audio arriving later: a negative offset
    assert list(result.offsets) == list(range(vshift, -vshift - 1, -1))
    np.testing.assert_allclose(result.mean_dists, mean, rtol=1e-12)
    want = np.sort(mean)[vshift] - d[:, best]  # odd length: the median
    np.testing.assert_allclose(result.frame_conf, want, rtol=1e-12)
    assert result.frame_conf[8:12].max() < result.frame_conf[:6].min()  # the noisy windows are out of sync
    np.testing.assert_allclose(result.frame_conf_filtered(9), _medfilt_by_hand(want, 9), rtol=1e-12)
    short = SyncResult(0, 1.0, 1.0, np.full(31, 2.0), 3, np.full(3, 1.0))  # 3 windows, confidence 1 each
    np.testing.assert_array_equal(short.frame_conf, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(short.frame_conf_filtered(9), [0.0, 0.0, 0.0])  # 4 zeros pad each side


def _lse_clips(folder: Path) -> None:
    rng = np.random.default_rng(4)
    for i, frames in enumerate((16, 12)):
        video = rng.integers(0, 255, (frames, 48, 48, 3), dtype=np.uint8)
        write_clip(folder / f"spk/{i:05d}.mkv", video, (0.1 * rng.normal(size=frames * 640)).astype(np.float32))


def test_score_per_frame_writes_sidecars_and_plot_sync_draws_them(tmp_path, stfbench_script):
    pred = tmp_path / "pred"
    _lse_clips(pred)
    args = ["score", "--pred", str(pred), "--metrics", "lse", "--lse-weights", "syncnet_synthetic", "--no-progress"]
    done = stfbench_script(*args, "--out", str(tmp_path / "run"), "--per-frame", "--workers", "1")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "run" / "clips.jsonl").read_text().splitlines()]
    for record in records:
        sidecar = tmp_path / "run" / "per_frame" / (record["clip_id"].replace("/", "%2F") + ".json")
        document = json.loads(sidecar.read_text())
        ((name, detail),) = document["metrics"].items()
        assert name.startswith("lse[") and document["clip_id"] == record["clip_id"]
        assert detail["lse_d"] == record["metrics"]["lse_d"] and detail["av_offset"] == record["metrics"]["av_offset"]
        assert len(detail["mean_dists"]) == len(detail["offsets"]) == 31
        windows = record["frames"] - 5
        assert len(detail["frame_conf"]) == len(detail["frame_conf_medfilt9"]) == windows
        median = sorted(detail["mean_dists"])[15]
        assert detail["lse_c"] == pytest.approx(median - min(detail["mean_dists"]), abs=1e-9)
    clip = records[0]["clip_id"]
    png = tmp_path / "sync.png"
    done = stfbench_script("plot", "sync", str(tmp_path / "run"), clip, "--out", str(png))
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    done = stfbench_script("plot", "sync", str(tmp_path / "run"), "spk/99999")
    assert done.returncode == 2 and "no such clip in this run" in done.stderr and done.stderr.count("\n") == 1
    again = stfbench_script(*args, "--out", str(tmp_path / "run"), "--workers", "1", "--overwrite")
    assert again.returncode == 0 and not (tmp_path / "run" / "per_frame").exists()  # no stale sidecars
    plain = stfbench_script(*args, "--out", str(tmp_path / "plain"), "--workers", "1")
    assert plain.returncode == 0 and not (tmp_path / "plain" / "per_frame").exists()
    assert [json.loads(line)["metrics"] for line in (tmp_path / "plain" / "clips.jsonl").read_text().splitlines()] == [
        r["metrics"] for r in records
    ]
    done = stfbench_script("plot", "sync", str(tmp_path / "plain"), clip)
    assert done.returncode == 2 and "not scored with --per-frame" in done.stderr
