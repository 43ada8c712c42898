"""Wav2Lip plugged into the shared Trainer: steps run, the expert sync loss is used when weighted, the
checkpoint resumes, and the exported fp16 file loads in the adapter's loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stfbench.adapters.wav2lip import load_wav2lip, save_inference_checkpoint
from stfbench.adapters.wav2lip.training import Wav2LipConfig, Wav2LipTask
from stfbench.errors import WeightsError
from stfbench.reference_model.config import RunInfo, TrainConfig, expert_preset
from stfbench.reference_model.data import TrainingClip
from stfbench.reference_model.syncnet import ColorSyncNet, freeze
from stfbench.reference_model.training import Trainer


def _clips(count: int = 2, frames: int = 14) -> list[TrainingClip]:
    rng = np.random.default_rng(0)
    return [
        TrainingClip(
            f"c{i}",
            rng.integers(0, 256, (frames, 96, 96, 3), dtype=np.uint8),
            rng.standard_normal((frames, 80, 16)).astype(np.float32),
            rng.standard_normal((frames, 80, 16)).astype(np.float32),
        )
        for i in range(count)
    ]


def test_training_steps_with_expert_sync_loss_and_resume(tmp_path: Path) -> None:
    torch.manual_seed(0)
    expert = freeze(ColorSyncNet(expert_preset("tiny")))
    task = Wav2LipTask(Wav2LipConfig(width_mult=0.125, sync_weight=0.03), _clips(), _clips(1), expert, "0" * 64)
    train = TrainConfig(steps=2, batch_size=2, log_every=1, checkpoint_every=1, validation_clips=1)
    validation = Trainer(task, train, tmp_path / "run", torch.device("cpu"), RunInfo()).run(show_progress=False)
    assert set(validation) == {"l1", "psnr"} and 0 < validation["l1"] < 1
    log = (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()
    assert len(log) == 3 and '"sync"' in log[0] and '"val_psnr"' in log[2]  # two steps + validation
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["kind"] == "wav2lip" and state["step"] == 2
    assert state["configs"]["wav2lip"]["sync_weight"] == 0.03
    resumed = Wav2LipTask(Wav2LipConfig(width_mult=0.125, sync_weight=0.03), _clips(), None, expert, "0" * 64)
    trainer = Trainer(resumed, TrainConfig(steps=3, batch_size=2), tmp_path / "run", torch.device("cpu"), RunInfo())
    trainer.run(show_progress=False)
    assert trainer.step == 3
    loaded = load_wav2lip(save_inference_checkpoint(resumed.generator, tmp_path / "w.pt"))
    assert loaded.width_mult == 0.125 and loaded.channel_order == "rgb"


def test_sync_weight_needs_an_expert() -> None:
    with pytest.raises(WeightsError, match="expert"):
        Wav2LipTask(Wav2LipConfig(sync_weight=0.03), _clips())
