"""Training Wav2Lip with the shared `Trainer` (stfbench.reference_model.training): `Wav2LipTask`.

Recipe (Wav2Lip, non-GAN, Prajwal et al. 2020), on the same windows as SyncTalkFace (`sample_generator_batch`):
targets = frames t … t+4; face input = target with its lower half zeroed ⊕ reference frames (another
position of the same clip), in [0, 1]; one 16-step mel window per target frame, taken one frame early as in
Wav2Lip's `get_segmented_mels` (mel_offset −1; inference uses offset 0). Loss per step:
    (1 − w_sync) · L1(Î, I) + w_sync · BCE(cos(F_a(mel_t), F_v(lower halves of Î_t…t+4)), 1)
with a frozen colour SyncNet expert (w_sync = 0 without one; Wav2Lip uses 0.03 once its expert is good).
The exported inference file is `save_inference_checkpoint`'s format (fp16, `width_mult`, `channel_order="rgb"`).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from stfbench.adapters.wav2lip.checkpoint import save_inference_checkpoint
from stfbench.adapters.wav2lip.model import Wav2Lip
from stfbench.errors import StfbenchError, WeightsError
from stfbench.reference_model.training import TrainingTask


@dataclass(frozen=True)
class Wav2LipConfig:
    """Generator width and loss weights."""

    width_mult: float = 1.0
    sync_weight: float = 0.0  # weight of the expert sync loss (Wav2Lip: 0.03 with GAN-free training)
    mel_offset_frames: int = -1  # generator mel window start relative to the frame (released training code)


class Wav2LipTask(TrainingTask):
    """Trains `Wav2Lip(width_mult)` on `TrainingClip`s (see module docstring for the loss)."""

    kind = "wav2lip"
    config_types: ClassVar[dict[str, type]] = {"wav2lip": Wav2LipConfig}

    def __init__(
        self, config: Wav2LipConfig, clips: list, val_clips: list | None = None, expert=None, expert_sha256=None
    ):
        if config.sync_weight > 0 and expert is None:
            raise WeightsError("wav2lip: --sync-weight > 0 needs a colour SyncNet expert (--expert PATH)")
        if not clips:
            raise StfbenchError("no training clips")
        self.config = config
        self.clips = clips
        self.val_clips = val_clips or []
        self.expert = expert
        self.expert_sha256 = expert_sha256
        self.generator = Wav2Lip(config.width_mult)
        self.modules = {"generator": self.generator}

    def build_optimizers(self, train) -> dict[str, torch.optim.Optimizer]:
        return {"generator": torch.optim.Adam(self.generator.parameters(), train.lr_generator, betas=train.betas)}

    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        from stfbench.reference_model.data import sample_generator_batch

        return sample_generator_batch(self.clips, rng, batch_size)

    def configs(self) -> dict[str, Any]:
        return {"wav2lip": asdict(self.config)}

    def extra_state(self) -> dict[str, Any]:
        return {"expert_sha256": self.expert_sha256}

    def forward(self, net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Generated (B, 5, 3, H, W) and target (B, 5, 3, H, W) frames, both in [0, 1]."""
        target = (batch["window"][:, 2:7] + 1) / 2  # (B, 5, 3, H, W)
        reference = (batch["reference"] + 1) / 2  # (B, 5, 3, H, W)
        masked = target.clone()
        masked[..., target.shape[-2] // 2 :, :] = 0
        faces = torch.cat([masked, reference], dim=2).permute(0, 2, 1, 3, 4)  # (B, 6, 5, H, W)
        generated = net(batch["mels"], faces).permute(0, 2, 1, 3, 4)  # (B, 5, 3, H, W)
        return generated, target

    def training_step(self, batch: dict[str, torch.Tensor], trainer) -> dict[str, float]:
        from stfbench.reference_model.losses import av_sync_loss

        with trainer.autocast():
            generated, target = self.forward(trainer.net("generator"), batch)
        generated = generated.float()
        l1 = (generated - target).abs().mean()
        numbers = {"l1": l1}
        total = l1
        if self.config.sync_weight > 0:
            sync = av_sync_loss(self.expert, batch["sync_mel"], generated * 2 - 1)
            total = (1 - self.config.sync_weight) * l1 + self.config.sync_weight * sync
            numbers["sync"] = sync
        trainer.optimize("generator", total)
        return {**{k: float(v.detach()) for k, v in numbers.items()}, "total": float(total.detach())}

    @torch.no_grad()
    def validate(self, trainer) -> dict[str, float]:
        """L1 (on [0, 1]) and PSNR (dB) of generated target windows of up to `validation_clips` val clips."""
        from stfbench.reference_model.data import sample_generator_batch

        clips = self.val_clips[: trainer.train.validation_clips]
        if not clips:
            return {}
        was_training = self.generator.training
        self.generator.eval()
        batch = sample_generator_batch(clips, np.random.default_rng(0), 2 * len(clips))
        generated, target = self.forward(self.generator, {k: v.to(trainer.device) for k, v in batch.items()})
        self.generator.train(was_training)
        mse = float(((generated - target) ** 2).mean())
        return {"l1": float((generated - target).abs().mean()), "psnr": 10 * np.log10(1.0 / max(mse, 1e-12))}


def train_wav2lip(
    dataset: str,
    out: str | Path,
    *,
    width_mult: float = 1.0,
    steps: int = 1000,
    batch_size: int = 8,
    lr: float = 1e-4,
    lr_schedule: str = "constant",
    lr_final_ratio: float = 0.05,
    seed: int = 0,
    sync_weight: float = 0.0,
    expert: str | Path | None = None,
    root: str | Path | None = None,
    limit_clips: int | None = None,
    device: str | None = None,
    checkpoint_every: int = 200,
    log_every: int = 10,
    export: str | Path | None = None,
) -> dict[str, float]:
    """Train (or resume, from `out/last.pt`) Wav2Lip on `dataset`'s train split; optionally export the fp16
    inference file to `export`. Returns the final validation numbers."""

    from stfbench.console import make_console
    from stfbench.device import resolve_device
    from stfbench.reference_model.config import RunInfo, TrainConfig
    from stfbench.reference_model.dataset import load_training_clips
    from stfbench.reference_model.recipes import load_expert
    from stfbench.reference_model.training import Trainer, seed_everything

    console = make_console(stderr=True)
    config = Wav2LipConfig(width_mult=width_mult, sync_weight=sync_weight)
    size = Wav2Lip.IMAGE_SIZE
    sync_expert, expert_sha = load_expert(expert, size) if sync_weight > 0 else (None, None)
    torch_device = resolve_device(device)
    clips = load_training_clips(dataset, "train", size, config.mel_offset_frames, root, limit_clips, console)
    val_clips = load_training_clips(dataset, "val", size, config.mel_offset_frames, root, 8, console)
    seed_everything(seed)
    task = Wav2LipTask(config, clips, val_clips, sync_expert, expert_sha)
    if sync_expert is not None:
        sync_expert.to(torch_device)
    train = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr_generator=lr,
        lr_schedule=lr_schedule,
        lr_final_ratio=lr_final_ratio,
        seed=seed,
        log_every=log_every,
        checkpoint_every=checkpoint_every,
    )
    trainer = Trainer(task, train, out, torch_device, RunInfo(sys.argv, dataset, seed))
    validation = trainer.run()
    if export is not None:
        save_inference_checkpoint(task.generator.cpu(), export, channel_order="rgb")
    return validation


def main(argv: list[str] | None = None) -> None:
    """`python -m stfbench.adapters.wav2lip.training --dataset D --out DIR [...]`: train_wav2lip from a shell."""
    import argparse

    parser = argparse.ArgumentParser(description="Train Wav2Lip on a dataset's train split (resumes from DIR/last.pt).")
    parser.add_argument("--dataset", required=True, help="synthetic, lrs2 or lrw")
    parser.add_argument("--out", required=True, type=Path, help="run folder (last.pt, train_log.jsonl)")
    parser.add_argument("--width-mult", type=float, default=1.0, help="channel multiplier (1.0 = public layout)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sync-weight", type=float, default=0.0, help="expert sync loss weight (Wav2Lip: 0.03)")
    parser.add_argument("--expert", default=None, help="colour SyncNet expert checkpoint (needed if sync weight > 0)")
    parser.add_argument("--root", type=Path, default=None, help="dataset root")
    parser.add_argument("--limit-clips", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--export", type=Path, default=None, help="write the fp16 inference file here")
    args = parser.parse_args(argv)
    validation = train_wav2lip(
        args.dataset,
        args.out,
        width_mult=args.width_mult,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        sync_weight=args.sync_weight,
        expert=args.expert,
        root=args.root,
        limit_clips=args.limit_clips,
        device=args.device,
        checkpoint_every=args.checkpoint_every,
        export=args.export,
    )
    print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in validation.items()))


if __name__ == "__main__":
    main()
