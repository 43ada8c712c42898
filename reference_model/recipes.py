"""Training recipes (`TrainingTask`s): SyncTalkFace and its colour SyncNet expert.

SyncTalkFace step (released-code loss, both generation paths Î_g = key-addressed, Î_G = value-addressed):
  G: recon·(L1_g + L1_G) + av·(AV_g + AV_G) + vv·(VV_g + VV_G) + gan·(GAN_g + GAN_G) + memory·(store + align)
  D: BCE(D(I), 1) + Σ_paths BCE(D(Î), 0)
With slots=0 there is only Î_g and no memory terms. A loss whose weight is 0 is not computed.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio

from stfbench.errors import StfbenchError, WeightsError
from stfbench.hashing import sha256_file
from stfbench.reference_model.checkpoint import load_checkpoint, module_state
from stfbench.reference_model.config import ExpertConfig, LossConfig, ModelConfig, TrainConfig, expert_preset, from_dict
from stfbench.reference_model.data import TrainingClip, from_unit_range, sample_expert_batch, sample_generator_batch
from stfbench.reference_model.discriminator import QualityDiscriminator
from stfbench.reference_model.generator import SyncTalkFace, mask_upper_half
from stfbench.reference_model.losses import (
    av_sync_loss,
    gan_discriminator_loss,
    gan_generator_loss,
    laplacian_l1,
    recon_l1,
    vv_sync_loss,
)
from stfbench.reference_model.syncnet import ColorSyncNet, freeze, load_expert_state, sync_faces
from stfbench.reference_model.training import Trainer, TrainingTask
from stfbench.safe_load import load_torch_file

EXPERT_HELP = (
    "the audio-visual sync loss needs a colour SyncNet expert: pass --expert PATH (train one with "
    "`stfbench train-expert --kind color-syncnet --dataset D`, or use Wav2Lip's lipsync_expert.pth for 96×96 "
    "models), or switch the loss off with --av-weight 0"
)


def load_expert(path: str | Path | None, image_size: int) -> tuple[ColorSyncNet, str]:
    """A frozen expert from an stfbench expert checkpoint or Wav2Lip's `lipsync_expert.pth`, and its SHA-256."""
    if path is None:
        raise WeightsError(EXPERT_HELP)
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"expert checkpoint not found; {EXPERT_HELP}", path)
    raw = load_torch_file(path, "expert checkpoint")
    if isinstance(raw, dict) and raw.get("format"):
        state = load_checkpoint(path, kind="color-syncnet")
        expert = ColorSyncNet(from_dict(ExpertConfig, state["configs"]["expert"]))
        expert.load_state_dict(module_state(state, "expert", path))
    else:
        expert = ColorSyncNet(expert_preset("wav2lip", channel_order="bgr"))
        load_expert_state(expert, raw, path)
    if expert.config.image_size != image_size:
        raise WeightsError(
            f"expert works at {expert.config.image_size}×{expert.config.image_size}, the model at {image_size}", path
        )
    return freeze(expert), sha256_file(path)


def lip_encoder_windows(window: torch.Tensor) -> torch.Tensor:
    """The lip encoder's input for targets t … t+4 of (B, 9, 3, H, W) windows: frames l−2 … l+2 of each
    target l, (N = B·5, 3, 5, H, W)."""
    _, _, c, h, width = window.shape
    stacked = torch.stack([window[:, k : k + 5] for k in range(5)], dim=1)  # (B, 5, 5, 3, H, W)
    return stacked.reshape(-1, 5, c, h, width).permute(0, 2, 1, 3, 4)


class SyncTalkFaceTask(TrainingTask):
    """Trains `SyncTalkFace` + `QualityDiscriminator` on `TrainingClip`s."""

    kind = "synctalkface"
    config_types: ClassVar[dict[str, type]] = {"model": ModelConfig, "loss": LossConfig, "expert": ExpertConfig}

    def __init__(
        self,
        model: ModelConfig,
        loss: LossConfig,
        clips: list[TrainingClip],
        val_clips: list[TrainingClip] | None = None,
        expert: ColorSyncNet | None = None,
        expert_sha256: str | None = None,
    ):
        if loss.av_sync > 0 and expert is None:
            raise WeightsError(EXPERT_HELP)
        if not clips:
            raise StfbenchError("no training clips")
        self.model_config = model
        self.loss = loss
        self.clips = clips
        self.val_clips = val_clips or []
        self.expert = expert
        self.expert_sha256 = expert_sha256
        self.generator = SyncTalkFace(model)
        self.modules = {"generator": self.generator}
        if loss.gan > 0:
            self.modules["discriminator"] = QualityDiscriminator(model)

    def build_optimizers(self, train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"generator": torch.optim.Adam(self.generator.parameters(), train.lr_generator, betas=train.betas)}
        if "discriminator" in self.modules:
            optimizers["discriminator"] = torch.optim.Adam(
                self.modules["discriminator"].parameters(), train.lr_discriminator, betas=train.betas
            )
        return optimizers

    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        return sample_generator_batch(self.clips, rng, batch_size)

    def configs(self) -> dict[str, Any]:
        configs = {"model": asdict(self.model_config), "loss": asdict(self.loss)}
        if self.expert is not None:
            configs["expert"] = asdict(self.expert.config)
        return configs

    def extra_state(self) -> dict[str, Any]:
        return {"expert_sha256": self.expert_sha256}

    def initialize(self, rng: np.random.Generator) -> None:
        """`memory_init = "data"`: slots from the encoders' features of S training frames (BatchNorm in
        training mode as in a step; running statistics left untouched)."""
        memory = self.generator.memory
        if memory is None or self.model_config.memory_init != "data":
            return
        batch = sample_generator_batch(self.clips, rng, -(-memory.slots // 5))
        lip_windows = lip_encoder_windows(batch["window"])  # (N, 3, 5, H, W)
        device = memory.key.device
        buffers = {name: value.clone() for name, value in self.generator.named_buffers()}
        self.generator.train()
        with torch.no_grad():
            audio = self.generator.audio_encoder(batch["mels"].reshape(-1, 1, 80, 16).to(device))  # (N, E)
            lip = self.generator.lip_encoder(mask_upper_half(lip_windows.to(device)))  # (N, E)
        self.generator.load_state_dict({**self.generator.state_dict(), **buffers})
        memory.initialize_from(audio[: memory.slots], lip[: memory.slots], self.loss.store_target)

    def training_step(self, batch: dict[str, torch.Tensor], trainer: Trainer) -> dict[str, float]:
        w = self.loss
        window = batch["window"]  # (B, 9, 3, H, W)
        b, _, c, h, width = window.shape
        target = window[:, 2:7].reshape(-1, c, h, width)  # (N=B·5, 3, H, W)
        lip_windows = lip_encoder_windows(window)  # (N, 3, 5, H, W)
        with trainer.autocast():
            out = trainer.net("generator")(
                batch["mels"].reshape(-1, 1, 80, 16),
                target,
                batch["reference"].reshape(-1, c, h, width),
                lip_windows,
                store_target=w.store_target,
            )
        paths = [out.key_frames] + ([out.value_frames] if out.value_frames is not None else [])
        gt_lip = out.lip_feature.view(b, 5, -1)[:, 2].float()  # (B, E): GT window t … t+4
        if w.vv_gt_branch == "detached":
            gt_lip = gt_lip.detach()
        losses: dict[str, torch.Tensor] = {}
        for tag, frames in zip(("g", "G"), paths, strict=False):
            frames = frames.float()
            clip = frames.view(b, 5, c, h, width)
            losses[f"l1_{tag}"] = recon_l1(frames, target)
            if w.laplacian > 0:
                losses[f"lap_{tag}"] = laplacian_l1(frames, target)
            if w.av_sync > 0:
                losses[f"av_{tag}"] = av_sync_loss(self.expert, batch["sync_mel"], clip)
            if w.vv_sync > 0:
                losses[f"vv_{tag}"] = vv_sync_loss(self.generator.lip_encoder, clip, gt_lip)
            if w.gan > 0:
                disc = self.modules["discriminator"]
                disc.requires_grad_(False)
                losses[f"gan_{tag}"] = gan_generator_loss(disc(frames))
                disc.requires_grad_(True)
        if out.store_loss is not None:
            losses["store"] = out.store_loss.float()
            losses["align"] = out.align_loss.float()
        weights = {"l1": w.recon, "lap": w.laplacian, "av": w.av_sync, "vv": w.vv_sync, "gan": w.gan}
        weights |= {"store": w.memory, "align": w.memory}
        total = sum(weights[name.split("_")[0]] * value for name, value in losses.items())
        trainer.optimize("generator", total)
        numbers = {name: float(value.detach()) for name, value in losses.items()}
        numbers["total"] = float(total.detach())
        if w.gan > 0:
            with trainer.autocast():
                logits = trainer.net("discriminator")(torch.cat([target, *[p.detach() for p in paths]]))
            real, fakes = logits[: target.shape[0]].float(), logits[target.shape[0] :].float().view(len(paths), -1)
            d_loss = gan_discriminator_loss(real, fakes)
            trainer.optimize("discriminator", d_loss)
            numbers["disc"] = float(d_loss.detach())
        return numbers

    def validate(self, trainer: Trainer) -> dict[str, float]:
        """Key-path (inference) L1 and PSNR on the first frames of up to `validation_clips` val clips, and the
        expert's mean sync probability of the generated windows."""
        clips = self.val_clips[: trainer.train.validation_clips]
        if not clips:
            return {}
        rng = np.random.default_rng(0)
        batch = {k: v.to(trainer.device) for k, v in sample_generator_batch(clips, rng, 2 * len(clips)).items()}
        window = batch["window"]
        b, _, c, h, width = window.shape
        target = window[:, 2:7].reshape(-1, c, h, width)
        out = self.generator(batch["mels"].reshape(-1, 1, 80, 16), target, batch["reference"].reshape(-1, c, h, width))
        frames = out.key_frames.float()
        numbers = {
            "l1": float(recon_l1(frames, target)),
            "psnr": float(peak_signal_noise_ratio(from_unit_range(target), from_unit_range(frames), data_range=255)),
        }
        if self.expert is not None:
            faces = sync_faces(frames.view(b, 5, c, h, width))
            numbers["sync_prob"] = float(self.expert.sync_probability(batch["sync_mel"], faces).mean())
        return numbers


class ExpertTask(TrainingTask):
    """Trains a `ColorSyncNet` with BCE on cosine similarity, 50 % in-sync / 50 % off-sync windows."""

    kind = "color-syncnet"
    config_types: ClassVar[dict[str, type]] = {"expert": ExpertConfig}

    def __init__(self, config: ExpertConfig, clips: list[TrainingClip], val_clips: list[TrainingClip] | None = None):
        if not clips:
            raise StfbenchError("no training clips")
        self.config = config
        self.clips = clips
        self.val_clips = val_clips or []
        self.expert = ColorSyncNet(config)
        self.modules = {"expert": self.expert}

    def build_optimizers(self, train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"expert": torch.optim.Adam(self.expert.parameters(), train.lr_generator, betas=train.betas)}

    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        return sample_expert_batch(self.clips, rng, batch_size)

    def configs(self) -> dict[str, Any]:
        return {"expert": asdict(self.config)}

    def _loss(self, net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        audio, face = net(batch["mel"], sync_faces(batch["frames"]))
        probability = (audio * face).sum(1).float().clamp(1e-7, 1 - 1e-7)
        return F.binary_cross_entropy(probability, batch["label"].float()), probability

    def training_step(self, batch: dict[str, torch.Tensor], trainer: Trainer) -> dict[str, float]:
        with trainer.autocast():
            loss, probability = self._loss(trainer.net("expert"), batch)
        trainer.optimize("expert", loss)
        accuracy = ((probability > 0.5).float() == batch["label"]).float().mean()
        return {"bce": float(loss.detach()), "acc": float(accuracy)}

    def validate(self, trainer: Trainer) -> dict[str, float]:
        """BCE and accuracy (threshold 0.5) on 64 fixed windows per val clip."""
        if not self.val_clips:
            return {}
        rng = np.random.default_rng(0)
        batch = {
            k: v.to(trainer.device)
            for k, v in sample_expert_batch(self.val_clips, rng, 64 * len(self.val_clips[:8])).items()
        }
        loss, probability = self._loss(self.expert, batch)
        accuracy = ((probability > 0.5).float() == batch["label"]).float().mean()
        return {"bce": float(loss), "acc": float(accuracy)}
