"""benchmarks/memory_study.py on CPU with a micro budget (the GPU study's code path, minus CUDA)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import torch

from stfbench.reference_model.config import RunInfo, TrainConfig
from stfbench.reference_model.training import Trainer

ROOT = Path(__file__).resolve().parents[1]


def test_memory_study_runs_both_variants_and_reports_every_figure(tmp_path):
    out = tmp_path / "study"
    command = [sys.executable, str(ROOT / "benchmarks" / "memory_study.py"), "--device", "cpu", "--budget-s", "1"]
    command += ["--batch-size", "2", "--limit-train-clips", "2", "--limit-test-clips", "2", "--threads", "1"]
    result = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "memory_study.json").read_text())
    assert report["device"] == "cpu" and report["gpu"] is None and report["protocol_subset"] is True
    assert set(report["variants"]) == {"slots96", "slots0"}
    for name, variant in report["variants"].items():
        assert variant["steps"] >= 1 and variant["samples_per_s"] > 0 and variant["peak_gpu_mib"] is None, name
        assert Path(variant["checkpoint"]).is_file()
        assert set(variant["metrics"]) == {"lmd", "lse_d", "lse_c"}
        lse = variant["metrics"]["lse_d"]
        assert lse["n_scored"] == 2 and lse["ci95"][0] <= lse["mean"] <= lse["ci95"][1]
    memory = report["variants"]["slots96"]["memory"]
    assert 1 <= memory["slots_used"] <= 96 and 0 <= memory["entropy_nats"] <= math.log(96) + 1e-6
    paired = report["paired_slots96_minus_slots0"]
    assert {"lmd", "lse_d", "lse_c"} <= set(paired)
    assert "| slots96 |" in result.stdout and "| slots0 |" in result.stdout and "machine:" in result.stdout


def test_wall_budget_stops_the_run_with_a_checkpoint(tmp_path):
    from test_train import _task  # the micro task of the trainer tests

    train = TrainConfig(steps=1000, batch_size=2, log_every=100, checkpoint_every=1000)
    trainer = Trainer(_task(), train, tmp_path, torch.device("cpu"), RunInfo())
    trainer.run(show_progress=False, max_seconds=0.0)
    assert trainer.step == 1  # the budget is checked after each step
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    assert saved["step"] == 1
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 1 and log[0]["samples_per_s"] > 0
