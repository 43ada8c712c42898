"""The GPU memory study (benchmarks/memory_study.py) with a micro budget on CPU, and the trainer's wall budget."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from stfbench.reference_model.config import LossConfig, RunInfo, TrainConfig, model_preset
from stfbench.reference_model.data import TrainingClip
from stfbench.reference_model.recipes import SyncTalkFaceTask
from stfbench.reference_model.training import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import memory_study


def test_trainer_stops_at_the_wall_budget_and_checkpoints_the_step_reached(tmp_path):
    rng = np.random.default_rng(0)
    clips = [TrainingClip("c", rng.integers(0, 255, (16, 64, 64, 3), np.uint8),
                          *(rng.standard_normal((2, 16, 80, 16)).astype(np.float32)))]  # fmt: skip
    task = SyncTalkFaceTask(model_preset("micro"), LossConfig(av_sync=0.0), clips)
    train = TrainConfig(steps=1000, batch_size=2, log_every=100, checkpoint_every=100)
    trainer = Trainer(task, train, tmp_path, torch.device("cpu"), RunInfo())
    trainer.run(show_progress=False, max_seconds=0.0)
    assert trainer.step == 1  # the budget is checked after each step
    log = [json.loads(line) for line in trainer.log_path.read_text().splitlines()]
    assert log[-1]["step"] == 1 and log[-1]["samples_per_s"] > 0
    resumed = Trainer(task, train, tmp_path, trainer.device, RunInfo())
    assert resumed.resume() and resumed.step == 1


@pytest.mark.slow
def test_micro_budget_study_reports_both_variants_with_paired_cis(synthetic_corpus, tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["--device", "cpu", "--budget-s", "0.5", "--batch-size", "2", "--root", str(synthetic_corpus),
            "--limit-train-clips", "2", "--limit-test-clips", "2", "--workers", "2", "--out", str(out)]  # fmt: skip
    memory_study.main(argv)
    report = json.loads((out / "memory_study.json").read_text())
    assert set(report["variants"]) == {"slots96", "slots0"} and report["test_clips"] == 2
    assert report["protocol_subset"] is True and report["gpu"] is None
    for label, variant in report["variants"].items():
        assert variant["steps"] >= 1 and variant["samples_per_s"] > 0
        assert variant["peak_gpu_mib"] is None and variant["amp"] is False  # CPU
        assert set(variant["metrics"]) == {"lmd", "lse_d", "lse_c"}
        for entry in variant["metrics"].values():
            assert {"mean", "ci95", "n_scored", "failures"} <= set(entry)
        lse = variant["metrics"]["lse_d"]
        assert lse["n_scored"] == 2 and np.isfinite(lse["mean"]) and lse["ci95"][0] <= lse["mean"] <= lse["ci95"][1]
        assert Path(variant["checkpoint"]).is_file()
        if label == "slots96":
            memory = variant["memory"]
            assert memory["slots"] == 96 and 1 <= memory["slots_used"] <= 96 and memory["frames"] > 0
            assert 0 <= memory["entropy_nats"] <= memory["max_entropy_nats"] + 1e-6
        else:
            assert variant["memory"] is None
    paired = report["paired_slots96_minus_slots0"]
    assert set(paired) == {"lmd", "lse_d", "lse_c"}
    assert (
        paired["lse_c"]["n"] == 2
        and paired["lse_c"]["ci95"][0] <= paired["lse_c"]["mean"] <= paired["lse_c"]["ci95"][1]
    )
    printed = capsys.readouterr().out
    assert "| slots96 |" in printed and "| slots0 |" in printed and "paired slots96 − slots0 lse_d" in printed

    with pytest.raises(SystemExit) as refused:  # a study never reuses (or resumes into) a folder
        memory_study.main(argv)
    assert refused.value.code == 2 and "give a new --out" in capsys.readouterr().err
