"""`stfbench score` end to end on small generated clips: pairing, per-clip failures, counts, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.media import write_clip
from stfbench.metrics.pairing import pair_clips


def _clip(seed: int, frames: int = 8, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, (1, size, size, 3))
    return np.clip(base + rng.integers(-10, 11, (frames, size, size, 3)), 0, 255).astype(np.uint8)


def _corpus(tmp_path):
    gt_dir, pred_dir = tmp_path / "gt" / "spk", tmp_path / "pred" / "spk"
    audio = np.zeros(8 * 640, np.float32)
    for i in range(3):
        gt = _clip(i)
        write_clip(gt_dir / f"{i:05d}.mkv", gt, audio)
        noisy = np.clip(gt.astype(int) + np.random.default_rng(10 + i).integers(-8, 9, gt.shape), 0, 255)
        write_clip(pred_dir / f"{i:05d}.mkv", noisy.astype(np.uint8), audio)
    write_clip(gt_dir / "00003.mkv", _clip(3), audio)  # no generated clip → missing-output
    write_clip(gt_dir / "00004.mkv", _clip(4), audio)
    write_clip(pred_dir / "00004.mkv", _clip(4, frames=6), audio)  # length mismatch
    (pred_dir / "00005.mkv").write_bytes(b"not a video")  # corrupt, and no GT either
    return tmp_path / "pred", tmp_path / "gt"


def test_pairing_by_relative_path_and_id(tmp_path):
    pred, gt = _corpus(tmp_path)
    pairs = {p.key: p for p in pair_clips(pred, gt)}
    assert set(pairs) == {f"spk/{i:05d}" for i in range(6)}
    assert pairs["spk/00003"].pred is None and pairs["spk/00005"].gt is None
    flat = tmp_path / "flat"
    write_clip(flat / "00001.mkv", _clip(1), None)
    assert pair_clips(flat, gt)[0].gt.name == "00001.mkv"  # paired by id when paths differ
    listing = tmp_path / "list.txt"
    listing.write_text("pred/spk/00000.mkv\n# comment\npred/spk/00001.mkv\n")
    assert [p.key for p in pair_clips(listing, gt)][:2] == ["pred/spk/00000", "pred/spk/00001"]


def test_score_reports_per_clip_failures_and_counts(tmp_path):
    pred, gt = _corpus(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["score", "--pred", str(pred), "--gt", str(gt), "--metrics", "psnr,ssim",
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_expected"] == 6 and summary["n_scored"] == 3
    assert summary["failures"] == {"decode-error": 1, "mismatch": 1, "missing-output": 1}
    records = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    by_id = {r["clip_id"]: r for r in records}
    assert by_id["spk/00004"]["status"] == "mismatch" and "--trim" in by_id["spk/00004"]["reason"]
    ok_psnr = [r["metrics"]["psnr"] for r in records if r["status"] == "ok"]
    assert summary["psnr"] == np.mean(ok_psnr) or abs(summary["psnr"] - np.mean(ok_psnr)) < 1e-9
    assert 25 < summary["psnr"] < 45 and 0 < summary["ssim"] < 1
    assert summary["metric_names"]["ssim"] == "ssim[gaussian1.5,population]"
    assert "ssim[gaussian1.5" in result.output  # the printed table names the setting too
    again = CliRunner().invoke(app, ["score", "--pred", str(pred), "--gt", str(gt), "--metrics", "psnr",
                                     "--out", str(out)])  # fmt: skip
    assert again.exit_code != 0  # refuses to mix runs without --resume/--overwrite


def test_score_resume_does_not_redo_or_double_count(tmp_path):
    pred, gt = _corpus(tmp_path)
    out = tmp_path / "out"
    args = ["score", "--pred", str(pred), "--gt", str(gt), "--metrics", "psnr", "--out", str(out), "--trim"]
    assert CliRunner().invoke(app, args).exit_code == 0
    first = json.loads((out / "summary.json").read_text())
    lines = (out / "clips.jsonl").read_text().splitlines()
    (out / "clips.jsonl").write_text("\n".join(lines[:-1]) + "\n")  # killed between state save and append
    result = CliRunner().invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    resumed = json.loads((out / "summary.json").read_text())
    assert len((out / "clips.jsonl").read_text().splitlines()) == 6
    assert resumed["n_scored"] == first["n_scored"] == 4
    assert resumed["psnr"] == first["psnr"]
    (out / "clips.jsonl").write_text("\n".join(lines[:-3]) + "\n")
    assert CliRunner().invoke(app, [*args, "--resume"]).exit_code != 0  # statistics would be counted twice


def test_score_lse_batches_clips_as_scored_alone_names_precision_and_fails_per_clip(tmp_path):
    from stfbench.media import read_clip
    from stfbench.metrics import ScoringSample, build_metrics

    pred = tmp_path / "pred"
    rng = np.random.default_rng(3)
    for i, frames in enumerate((14, 5, 11, 9)):  # 5 frames: too short for one LSE window
        audio = (0.1 * rng.normal(size=frames * 640)).astype(np.float32)
        write_clip(pred / f"{i:05d}.mkv", _clip(20 + i, frames=frames), audio)
    write_clip(pred / "00004.mkv", _clip(24, frames=9), None)  # no audio
    settings = {"lse": {"weights": "syncnet_synthetic"}}
    (alone,) = build_metrics("lse", settings, "cpu")
    for precision in ("fp32", "bf16"):
        out = tmp_path / precision
        args = ["--metrics", "lse", "--lse-weights", "syncnet_synthetic", "--lse-precision", precision]
        result = CliRunner().invoke(app, ["score", "--pred", str(pred), "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        summary = json.loads((out / "summary.json").read_text())
        records = {r["clip_id"]: r for r in map(json.loads, (out / "clips.jsonl").read_text().splitlines())}
        assert summary["failures"] == {"too-short": 1, "no-audio": 1} and summary["n_scored"] == 3
        assert records["00001"]["status"] == "too-short" and records["00004"]["status"] == "no-audio"
        name = "lse[fullframe224,syncnet_synthetic" + ("]" if precision == "fp32" else ",bf16]")
        assert summary["metric_names"]["lse_c"] == name
        assert summary["provenance"]["settings"]["lse"]["precision"] == precision
    for clip_id in ("00000", "00002", "00003"):
        clip = read_clip(pred / f"{clip_id}.mkv")
        own = alone.score(ScoringSample(clip_id, clip.frames, pred_frames=clip.frames, audio=clip.audio))
        batched = json.loads((tmp_path / "fp32" / "clips.jsonl").read_text().splitlines()[int(clip_id)])["metrics"]
        assert batched["av_offset"] == own.av_offset
        assert batched["lse_d"] == pytest.approx(own.lse_d, rel=1e-5)
        assert batched["lse_c"] == pytest.approx(own.lse_c, rel=1e-5, abs=1e-5)
