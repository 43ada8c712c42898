"""Training the colour SyncNet expert (backend of `stfbench train-expert --kind color-syncnet`)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from stfbench.console import make_console
from stfbench.reference_model.checkpoint import export_inference
from stfbench.reference_model.config import RunInfo, TrainConfig, expert_preset
from stfbench.reference_model.dataset import load_training_clips
from stfbench.reference_model.recipes import ExpertTask
from stfbench.reference_model.training import Trainer, seed_everything


def train_color_syncnet(
    dataset: str,
    root: str | Path | None,
    *,
    out: str | Path,
    device: torch.device,
    steps: int = 1200,
    batch_size: int = 32,
    seed: int = 0,
    image_size: int = 96,
    preset: str = "tiny",
    lr: float = 1e-3,
    limit_clips: int | None = None,
) -> Path:
    """Train an expert of `preset` widths at `image_size` on the dataset's train split and write its fp16
    inference checkpoint to `out` (defaults: the committed `synctalkface_expert_tiny_synthetic` recipe). The
    resumable training run lives in `<out>.run/` (last.pt, JSONL log).

    The learning rate defaults to 1e-3 (Wav2Lip's expert: 1e-4) so that a tiny expert converges within
    minutes on a CPU; the batch mixes in-sync and off-sync windows 50/50."""
    console = make_console(stderr=True)
    config = expert_preset(preset, image_size=image_size)
    clips = load_training_clips(dataset, "train", image_size, 0, root, limit_clips, console)
    val_clips = load_training_clips(dataset, "val", image_size, 0, root, 8, console)
    seed_everything(seed)
    task = ExpertTask(config, clips, val_clips)
    train = TrainConfig(
        steps=steps, batch_size=batch_size, lr_generator=lr, seed=seed, checkpoint_every=100, validate_every=200
    )
    out = Path(out)
    trainer = Trainer(task, train, out.with_name(f"{out.name}.run"), device, RunInfo(sys.argv, dataset, seed))
    validation = trainer.run()
    console.print("validation " + ", ".join(f"{k} {v:.4f}" for k, v in validation.items()))
    export_inference(trainer.state(), ["expert"], out)
    return out
