"""`stfbench train-expert`: a tiny SyncNet training run on the test corpus, and the color-syncnet dispatch."""

from __future__ import annotations

import sys
import types

import torch
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.hashing import sha256_file
from stfbench.metrics.networks.syncnet import load_syncnet
from stfbench.metrics.networks.train_syncnet import contrastive_loss


def test_tiny_syncnet_training_writes_a_loadable_checkpoint(synthetic_corpus, tmp_path):
    out = tmp_path / "tiny.pt"
    args = ["train-expert", "--kind", "syncnet", "--root", str(synthetic_corpus), "--steps", "2", "--batch-size", "2",
            "--width", "0.0625", "--seed", "3", "--device", "cpu", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sha256_file(out) in result.output.replace("\n", "")
    model = load_syncnet(out)
    assert model.width == 0.0625
    saved = torch.load(out, weights_only=True)
    assert saved["config"]["seed"] == 3 and "train-expert" in saved["command"]
    assert saved["state_dict"]["netcnnaud.0.weight"].dtype == torch.float16


def test_contrastive_loss_pulls_positives_and_pushes_negatives():
    video = torch.zeros(2, 4)
    audio = torch.zeros(2 * 3, 4)
    audio[[1, 2, 4, 5]] = 20.0  # negatives already beyond the margin, positives on top of the video
    assert contrastive_loss(video, audio, margin=10.0).item() < 1e-6
    assert contrastive_loss(video, torch.zeros(6, 4), margin=10.0).item() > 99


def test_color_syncnet_is_dispatched_with_the_cli_options(monkeypatch, tmp_path):
    calls = {}

    def train_color_syncnet(**options):
        calls.update(options)
        options["out"].write_bytes(b"checkpoint")
        return options["out"]

    monkeypatch.setitem(
        sys.modules, "stfbench.reference_model.expert", types.SimpleNamespace(train_color_syncnet=train_color_syncnet)
    )
    out = tmp_path / "color.pt"
    args = [
        "train-expert",
        "--kind",
        "color-syncnet",
        "--steps",
        "5",
        "--image-size",
        "96",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls["steps"] == 5 and calls["image_size"] == 96 and calls["dataset"] == "synthetic"
    assert "batch_size" not in calls  # left to the reference model's own default


def test_color_syncnet_runs_with_only_steps_given(synthetic_corpus, tmp_path):
    """Without --batch-size the reference model's recipe default applies (it used to be a missing argument)."""
    out = tmp_path / "expert.pt"
    args = ["train-expert", "--kind", "color-syncnet", "--root", str(synthetic_corpus), "--steps", "1",
            "--device", "cpu", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.is_file() and sha256_file(out) in result.output.replace("\n", "")
    run_log = (tmp_path / "expert.pt.run" / "train_log.jsonl").read_text()
    assert '"step": 1' in run_log
