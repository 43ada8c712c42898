"""Configuration dataclasses for SyncTalkFace, its colour SyncNet expert and their training.

Every config is saved inside every checkpoint (`asdict`) and rebuilt with `from_dict`, so a checkpoint
alone says how to build its networks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from stfbench.errors import StfbenchError

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass `cls` from a dict, turning lists back into tuples and ignoring unknown keys."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            continue
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


UPSAMPLE_INITS = ("default", "bilinear")


@dataclass(frozen=True)
class ModelConfig:
    """SyncTalkFace generator: image size, channel widths, residual counts and the Audio-Lip Memory.

    Channel tuples list the output channels of each stage; `*_residuals` the residual blocks after it.
    The last encoder stage maps the (size/32)² map to 1×1 with a kernel of size/32 (4 at 128, 3 at 96).
    """

    image_size: int = 128
    embed_dim: int = 512
    audio_channels: tuple[int, ...] = (32, 64, 128, 256)
    audio_residuals: tuple[int, ...] = (2, 2, 2, 1)
    lip_channels: tuple[int, ...] = (64, 64, 128, 256, 512)  # Conv3d front-end, then four stride-2 stages
    lip_residuals: tuple[int, ...] = (0, 3, 2, 2, 1)
    face_channels: tuple[int, ...] = (16, 32, 64, 128, 256, 512)  # identity encoder stages (U-Net skips)
    face_residuals: tuple[int, ...] = (0, 2, 3, 2, 2, 1)
    decoder_channels: tuple[int, ...] = (512, 512, 512, 384, 256, 128, 64)
    decoder_residuals: tuple[int, ...] = (0, 1, 2, 2, 2, 2, 2)
    output_channels: int = 32
    disc_channels: tuple[int, ...] = (32, 64, 128, 256, 512, 512, 512)  # quality discriminator stages + final
    slots: int = 96  # memory slots S; 0 = memory off (the audio feature alone drives the decoder)
    kappa: float = 16.0  # addressing scale κ in softmax(κ · cosine)
    fusion_dropout: float = 0.5
    train_lip_source: str = "value-recalled"  # Î_G input: "value-recalled" (released code) or "raw" (paper)
    mel_offset_frames: int = -1  # generator mel window starts this many frames before its frame (released code)
    memory_init: str = "random"  # slots ~ N(0, 0.5²) (released code) or "data": projected features of a batch
    address_norm: str = "none"  # "none" (released code) or "batch": projected queries pass a BatchNorm (no affine)
    train_path_audio: str = "keep"  # Î_G's fusion input: f_aud ⊕ lip ("keep", paper and code) or 0 ⊕ lip ("drop")
    upsample_init: str = "default"  # decoder's stride-2 transposed convs: torch's init (code) or "bilinear"

    def __post_init__(self) -> None:
        if self.image_size % 32 or self.image_size < 64:
            raise StfbenchError(f"image_size {self.image_size}: must be a multiple of 32 and at least 64")
        if self.slots < 0:
            raise StfbenchError(f"--slots {self.slots}: must be 0 (memory off) or a positive slot count")
        if not 0.0 <= self.fusion_dropout < 1.0:
            raise StfbenchError(f"fusion_dropout {self.fusion_dropout}: must be in [0, 1)")
        if self.memory_init not in ("random", "data"):
            raise StfbenchError(f"memory_init {self.memory_init!r}: use 'random' or 'data'")
        if self.address_norm not in ("none", "batch"):
            raise StfbenchError(f"address_norm {self.address_norm!r}: use 'none' or 'batch'")
        if self.train_path_audio not in ("keep", "drop"):
            raise StfbenchError(f"train_path_audio {self.train_path_audio!r}: use 'keep' or 'drop'")
        if self.upsample_init not in UPSAMPLE_INITS:
            raise StfbenchError(f"upsample_init {self.upsample_init!r}: use {' or '.join(map(repr, UPSAMPLE_INITS))}")
        if self.train_lip_source not in ("value-recalled", "raw"):
            raise StfbenchError(f"train_lip_source {self.train_lip_source!r}: use 'value-recalled' or 'raw'")
        if len(self.decoder_channels) != len(self.face_channels) + 1:
            raise StfbenchError("decoder_channels needs one entry more than face_channels")

    @property
    def final_kernel(self) -> int:
        """Kernel of the last encoder stage and first decoder stage: (size/32) → 1."""
        return self.image_size // 32


@dataclass(frozen=True)
class ExpertConfig:
    """Wav2Lip-style colour SyncNet on the lower half of 5 frames (15 × size/2 × size) and a 1×80×16 mel.

    `channel_order` is the order the network was trained on; inputs are always given as RGB and flipped
    to BGR inside when it says "bgr" (Wav2Lip's public `lipsync_expert.pth`, trained on OpenCV frames).
    """

    image_size: int = 96
    face_channels: tuple[int, ...] = (32, 64, 128, 256, 512, 512)
    face_residuals: tuple[int, ...] = (0, 2, 3, 2, 2, 0)
    audio_channels: tuple[int, ...] = (32, 64, 128, 256)
    audio_residuals: tuple[int, ...] = (2, 2, 2, 2)
    embed_dim: int = 512
    channel_order: str = "rgb"

    def __post_init__(self) -> None:
        if self.image_size % 32 or self.image_size < 64:
            raise StfbenchError(f"expert image_size {self.image_size}: must be a multiple of 32 and at least 64")
        if self.channel_order not in ("rgb", "bgr"):
            raise StfbenchError(f"channel_order {self.channel_order!r}: use 'rgb' or 'bgr'")


@dataclass(frozen=True)
class LossConfig:
    """Loss weights (released-code defaults) and the store-loss target.

    total = recon·(L1_g + L1_G) + av·(AV_g + AV_G) + vv·(VV_g + VV_G) + gan·(GAN_g + GAN_G)
            + memory·(store + align) + laplacian·(Lap_g + Lap_G)
    `laplacian` is an stfbench addition (0 in the released code): L1 between the frames' Laplacians.
    """

    recon: float = 10.0
    av_sync: float = 0.2
    vv_sync: float = 0.2
    gan: float = 0.2
    memory: float = 0.2
    store_target: str = "projected"  # "projected" = v_embd(f_lip).detach() (released code); "raw" = f_lip (paper)
    vv_gt_branch: str = "live"  # "live": VV also trains the lip encoder on the GT window (released code); "detached"
    laplacian: float = 0.0

    def __post_init__(self) -> None:
        if self.store_target not in ("projected", "raw"):
            raise StfbenchError(f"store_target {self.store_target!r}: use 'projected' or 'raw'")
        if self.vv_gt_branch not in ("live", "detached"):
            raise StfbenchError(f"vv_gt_branch {self.vv_gt_branch!r}: use 'live' or 'detached'")
        if self.laplacian < 0:
            raise StfbenchError(f"--laplacian-weight {self.laplacian}: must be ≥ 0")


LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of one training run."""

    steps: int = 1000
    batch_size: int = 8
    lr_generator: float = 1e-4
    lr_discriminator: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    grad_clip: float = 0.0  # 0 = off; else max global L2 norm per optimiser
    lr_schedule: str = "constant"  # "constant" (released code) or "cosine": every lr decays to lr·lr_final_ratio
    lr_final_ratio: float = 0.05  # cosine only: lr at the last step as a fraction of the initial lr
    amp: bool = True  # autocast + GradScaler on CUDA (ignored on CPU)
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 200
    validate_every: int = 0  # 0 = only at the end
    validation_clips: int = 4

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise StfbenchError(f"--lr-schedule {self.lr_schedule}: use {' or '.join(LR_SCHEDULES)}")
        if not 0.0 <= self.lr_final_ratio <= 1.0:
            raise StfbenchError(f"--lr-final-ratio {self.lr_final_ratio}: must be in [0, 1]")

    def lr_factor(self, step: int) -> float:
        """Multiplier of every initial learning rate for optimiser step `step` (0-based), in (0, 1].

        cosine: r + (1 − r)·½(1 + cos(π·step / (steps − 1))) with r = lr_final_ratio (1 at step 0, r at the last).
        """
        if self.lr_schedule == "constant" or self.steps <= 1:
            return 1.0
        progress = min(step, self.steps - 1) / (self.steps - 1)
        return self.lr_final_ratio + (1 - self.lr_final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


PRESETS: dict[str, ModelConfig] = {
    "paper": ModelConfig(),
    "tiny": ModelConfig(
        image_size=96,
        embed_dim=128,
        audio_channels=(16, 32, 64, 128),
        audio_residuals=(1, 1, 1, 0),
        lip_channels=(16, 32, 48, 64, 128),
        lip_residuals=(0, 1, 1, 1, 0),
        face_channels=(8, 16, 32, 48, 96, 128),
        face_residuals=(0, 0, 1, 1, 1, 0),
        decoder_channels=(128, 96, 96, 64, 48, 32, 16),
        decoder_residuals=(0, 0, 1, 1, 1, 0, 0),
        output_channels=16,
        disc_channels=(16, 32, 48, 64, 96, 128, 128),
    ),
    # For tests and smoke runs of the whole pipeline (64 px, ≈0.1 M parameters); not meant to learn much.
    "micro": ModelConfig(
        image_size=64,
        embed_dim=32,
        audio_channels=(8, 8, 16, 16),
        audio_residuals=(0, 0, 0, 0),
        lip_channels=(8, 8, 16, 16, 32),
        lip_residuals=(0, 0, 0, 0, 0),
        face_channels=(4, 8, 8, 16, 16, 32),
        face_residuals=(0, 0, 0, 0, 0, 0),
        decoder_channels=(32, 32, 16, 16, 8, 8, 8),
        decoder_residuals=(0, 0, 0, 0, 0, 0, 0),
        output_channels=8,
        disc_channels=(8, 8, 8, 16, 16, 16, 16),
        slots=8,
    ),
}

EXPERT_PRESETS: dict[str, ExpertConfig] = {
    "wav2lip": ExpertConfig(),  # Wav2Lip's lipsync_expert.pth layout at 96×96 (BGR)
    "paper": ExpertConfig(image_size=128, face_residuals=(0, 2, 3, 2, 2, 2)),  # SyncTalkFace's 128 variant
    "tiny": ExpertConfig(
        image_size=96,
        face_channels=(16, 32, 64, 96, 128, 128),
        face_residuals=(0, 1, 1, 1, 1, 0),
        audio_channels=(16, 32, 64, 128),
        audio_residuals=(1, 1, 1, 1),
        embed_dim=128,
    ),
    "micro": ExpertConfig(
        image_size=64,
        face_channels=(8, 8, 16, 16, 32, 32),
        face_residuals=(0, 0, 0, 0, 0, 0),
        audio_channels=(8, 8, 16, 16),
        audio_residuals=(0, 0, 0, 0),
        embed_dim=32,
    ),
}


def model_preset(name: str, **overrides: Any) -> ModelConfig:
    """A named preset with field overrides (e.g. `slots=0`)."""
    if name not in PRESETS:
        raise StfbenchError(f"--preset {name}: unknown preset (choose from {', '.join(PRESETS)})")
    return from_dict(ModelConfig, {**asdict(PRESETS[name]), **overrides})


def expert_preset(name: str, **overrides: Any) -> ExpertConfig:
    if name not in EXPERT_PRESETS:
        raise StfbenchError(f"--preset {name}: unknown expert preset (choose from {', '.join(EXPERT_PRESETS)})")
    return from_dict(ExpertConfig, {**asdict(EXPERT_PRESETS[name]), **overrides})


@dataclass
class RunInfo:
    """What produced a checkpoint: the command line, dataset and seed (kept next to the configs)."""

    command: list[str] = field(default_factory=list)
    dataset: str = ""
    seed: int = 0
