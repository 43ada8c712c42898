"""Cross pairing as a first-class protocol: each video driven by another clip's audio. FID is measured
against the target videos' real frames, paired metrics are refused, the synthetic protocol ships a cross
variant that stays in step with it, and tables name the pairing of each column group."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_fakes import FakeClips, fake_protocol, fake_run

from stfbench.errors import StfbenchError
from stfbench.leaderboard import build_leaderboard, render
from stfbench.protocols import load_protocol
from stfbench.protocols.spec import PairingSpec, ProtocolItem


class _CrossClips(FakeClips):
    """Each clip's audio comes from the next clip (a rotation: a derangement)."""

    def items(self) -> list[ProtocolItem]:
        audio = self.ids[1:] + self.ids[:1]
        return [
            ProtocolItem(v, v, a, Path(f"/fake/{v}.mp4"), Path(f"/fake/{a}.mp4"))
            for v, a in zip(self.ids, audio, strict=True)
        ]


def _cross_protocol(names=("fid",)):
    return dataclasses.replace(fake_protocol(names), id="fake-cross", pairing=PairingSpec("cross", seed=0))


def test_cross_run_scores_fid_against_the_target_videos_and_refuses_paired_metrics(tmp_path: Path):
    run = fake_run(tmp_path / "cross", clips=_CrossClips(), protocol=_cross_protocol())
    summary = json.loads((run / "summary.json").read_text())
    fid = summary["metrics"]["fid"]["mean"]
    assert summary["n_scored"] == 6 and np.isfinite(fid) and fid > 0
    assert summary["protocol"]["pairing"] == {"mode": "cross", "pairs_file": None, "seed": 0}
    records = [json.loads(line) for line in (run / "clips.jsonl").read_text().splitlines()]
    assert all(r["audio_id"] != r["video_id"] for r in records)
    with pytest.raises(StfbenchError, match="psnr, ssim need the output's own ground truth"):
        fake_run(tmp_path / "refused", clips=_CrossClips(), protocol=_cross_protocol(("psnr", "ssim", "fid")))


def test_synthetic_cross_is_the_synthetic_protocol_with_cross_pairing():
    own, cross = load_protocol("synthetic"), load_protocol("synthetic-cross")
    assert cross.pairing == PairingSpec("cross", None, 0) and own.pairing.mode == "reconstruction"
    assert cross.metrics.names == ("lse", "fid") and cross.hash != own.hash
    same = ("dataset", "split", "fps", "sample_rate", "clip_list", "crop", "synthetic", "min_frames")
    assert all(getattr(cross, field) == getattr(own, field) for field in same)
    assert cross.metrics.weights == own.metrics.weights and cross.reference.rule == own.reference.rule


def _summary(root: Path, label: str, protocol: dict, values: dict, gt: bool = False) -> Path:
    run = root / f"{label}-{protocol['id']}-{protocol.get('driving_audio', 'speech')}"
    run.mkdir(parents=True)
    summary = {
        "protocol": {"dataset": "synthetic", "hash": "d" * 64, "lse_variant": "fullframe224", **protocol},
        "model": {"label": label, "is_control": gt, "uses_ground_truth_video": gt},
        "metrics": {k: {"mean": v, "ci95": None, "n": 4} for k, v in values.items()},
        "n_scored": 4, "n_expected": 4, "failures": {}, "metric_settings": {}, "stfbench_version": "0.1.0",
    }  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_tables_name_each_groups_pairing(tmp_path: Path):
    own = {"id": "synthetic", "hash": "e" * 64}
    cross = {"id": "synthetic-cross", "pairing": {"mode": "cross", "pairs_file": None, "seed": 0}}
    silent = {"id": "synthetic", "hash": "e" * 64, "driving_audio": "silent"}
    runs = [
        _summary(tmp_path, "model", own, {"lse_c": 2.0}),
        _summary(tmp_path, "model", cross, {"lse_c": 1.5}),
        _summary(tmp_path, "model", silent, {"lipleak": 0.1}),
    ]
    board = build_leaderboard(runs)
    assert [(g.id, g.title) for g in board.groups] == [
        ("synthetic", "synthetic"),
        ("synthetic-cross", "synthetic-cross"),
        ("synthetic+silent", "synthetic, silent audio"),
    ]
    text = render(board, "markdown")
    assert "synthetic = synthetic (sha256 eeeeeeeeeeee, own audio, LSE fullframe224)" in text
    assert "synthetic-cross = synthetic-cross (sha256 dddddddddddd, cross pairing: seeded derangement, seed 0" in text
    assert "(sha256 eeeeeeeeeeee, silent audio)" in text
