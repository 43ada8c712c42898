"""SyncTalkFace generator: encoders + Audio-Lip Memory + decoder.

Inference path Î_g = G(fusion(f_aud ⊕ A_aud·M_value), f_I). Training adds Î_G from the value-addressed
recall (released code) or the raw lip feature (paper), see `ModelConfig.train_lip_source`. With
`slots=0` the memory is absent and f_aud alone drives the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from stfbench.errors import StfbenchError
from stfbench.reference_model.blocks import bilinear_upsampling_init
from stfbench.reference_model.config import ModelConfig
from stfbench.reference_model.decoder import Decoder
from stfbench.reference_model.encoders import AudioEncoder, IdentityEncoder, LipEncoder
from stfbench.reference_model.memory import AudioLipMemory

MEL_SHAPE = (1, 80, 16)


def check_mel(mel: torch.Tensor) -> None:
    """Mel windows must be (N, 1, 80, 16)."""
    if mel.dim() != 4 or tuple(mel.shape[1:]) != MEL_SHAPE:
        raise StfbenchError(f"mel windows have shape {tuple(mel.shape)}; expected (N, 1, 80, 16)")


def mask_lower_half(frames: torch.Tensor) -> torch.Tensor:
    """Zero the lower half rows of (..., H, W) images (the generator's target input)."""
    out = frames.clone()
    out[..., frames.shape[-2] // 2 :, :] = 0
    return out


def mask_upper_half(frames: torch.Tensor) -> torch.Tensor:
    """Zero the upper half rows of (..., H, W) images (the lip encoder's input)."""
    out = frames.clone()
    out[..., : frames.shape[-2] // 2, :] = 0
    return out


@dataclass
class GeneratorOutput:
    """Generated frames in [−1, 1] and the memory's addresses/losses (training fields None at inference)."""

    key_frames: torch.Tensor  # (N, 3, H, W) Î_g
    value_frames: torch.Tensor | None = None  # (N, 3, H, W) Î_G
    key_address: torch.Tensor | None = None  # (N, S)
    value_address: torch.Tensor | None = None
    store_loss: torch.Tensor | None = None
    align_loss: torch.Tensor | None = None
    lip_feature: torch.Tensor | None = None  # (N, E) f_lip of the GT windows


class SyncTalkFace(nn.Module):
    """The SyncTalkFace generator. Images in [−1, 1], (N, 3, H, W) per frame."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.audio_encoder = AudioEncoder(config)
        self.lip_encoder = LipEncoder(config)
        self.identity_encoder = IdentityEncoder(config)
        self.memory = (
            AudioLipMemory(config.slots, config.embed_dim, config.kappa, config.fusion_dropout, config.address_norm)
            if config.slots
            else None
        )
        self.decoder = Decoder(config)
        if config.upsample_init == "bilinear":
            bilinear_upsampling_init(self.decoder)

    def identity_input(self, target: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) target (masked here) and reference → (N, 6, H, W)."""
        return torch.cat([mask_lower_half(target), reference], dim=1)

    def forward(
        self,
        mel: torch.Tensor,  # (N, 1, 80, 16)
        target: torch.Tensor,  # (N, 3, H, W) pose frame (its lower half is masked here)
        reference: torch.Tensor,  # (N, 3, H, W) identity frame
        lip_window: torch.Tensor | None = None,  # (N, 3, 5, H, W) GT frames l−2 … l+2 (training only)
        store_target: str = "projected",
    ) -> GeneratorOutput:
        check_mel(mel)
        size = self.config.image_size
        if target.shape[-2:] != (size, size) or reference.shape[-2:] != (size, size):
            raise StfbenchError(f"frames are {tuple(target.shape[-2:])}; this model expects {size}×{size}")
        audio = self.audio_encoder(mel)  # (N, E)
        skips = self.identity_encoder(self.identity_input(target, reference))
        lip = None if lip_window is None else self.lip_encoder(mask_upper_half(lip_window))  # (N, E)
        if self.memory is None:
            return GeneratorOutput(key_frames=self.decoder(audio, skips), lip_feature=lip)
        mem = self.memory(audio, lip, self.config.train_lip_source, store_target, self.config.train_path_audio)
        out = GeneratorOutput(
            key_frames=self.decoder(mem.fused_key, skips), key_address=mem.key_address, lip_feature=lip
        )
        if lip is not None:
            out.value_frames = self.decoder(mem.fused_value, skips)
            out.value_address = mem.value_address
            out.store_loss = mem.store_loss
            out.align_loss = mem.align_loss
        return out

    @torch.no_grad()
    def decode_address(
        self, address: torch.Tensor, mel: torch.Tensor, target: torch.Tensor, reference: torch.Tensor
    ) -> torch.Tensor:
        """Frames generated from a forced lip address (N, S) (e.g. one-hot on one slot) instead of the audio's."""
        if self.memory is None:
            raise StfbenchError("this checkpoint has no memory (slots=0): nothing to decode")
        audio = self.audio_encoder(mel)
        skips = self.identity_encoder(self.identity_input(target, reference))
        return self.decoder(self.memory.fuse(audio, self.memory.recall(address)), skips)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
