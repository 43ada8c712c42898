"""SyncTalkFace encoders: audio (mel window → embedding), lip (5 masked GT frames → embedding) and
identity (masked target + reference → U-Net skip features)."""

from __future__ import annotations

import torch
from torch import nn

from stfbench.reference_model.blocks import ConvBlock, audio_encoder_blocks, stage
from stfbench.reference_model.config import ModelConfig


class AudioEncoder(nn.Module):
    """Mel window (N, 1, 80, 16) → audio feature f_aud (N, E)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.blocks = nn.Sequential(
            *audio_encoder_blocks(config.audio_channels, config.audio_residuals, config.embed_dim)
        )

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.blocks(mel).flatten(1)  # (N, E)


class SqueezeTime(nn.Module):
    """(N, C, 1, H, W) → (N, C, H, W): drops the time axis the Conv3d folded to length 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(2)


class LipEncoder(nn.Module):
    """Five consecutive frames with the upper half zeroed (N, 3, 5, H, W) in [−1, 1] → f_lip (N, E).

    As in the released code: a Conv3d (kernel 5×7×7, stride 2, no norm, no activation) folds the five
    frames into one map, the time axis is squeezed, then four stride-2 stages and a (size/32)-kernel
    convolution reach 1×1. `layers.N` is the released `lip_encoder.N`.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.lip_channels
        layers: list[nn.Module] = [
            nn.Conv3d(3, c[0], kernel_size=(5, 7, 7), stride=2, padding=(0, 3, 3)),
            SqueezeTime(),
        ]
        for cin, cout, res in zip(c[:-1], c[1:], config.lip_residuals[1:], strict=True):
            layers += stage(cin, cout, res)
        layers += [
            ConvBlock(c[-1], config.embed_dim, config.final_kernel, 1, 0),
            ConvBlock(config.embed_dim, config.embed_dim, 1),
        ]
        self.layers = nn.Sequential(*layers)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return self.layers(window).flatten(1)  # (N, c0, 1, H/2, W/2) → … → (N, E, 1, 1) → (N, E)


class IdentityEncoder(nn.Module):
    """Lower-half-masked target ⊕ reference frame (N, 6, H, W) → skip features, largest first.

    Stage outputs: H, H/2, …, H/32, then 1×1×E (the last one is the identity feature f_I).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.face_channels
        r = config.face_residuals
        stages = [nn.Sequential(*stage(6, c[0], r[0], kernel=7, stride=1, padding=3))]
        stages += [nn.Sequential(*stage(cin, cout, res)) for cin, cout, res in zip(c[:-1], c[1:], r[1:], strict=True)]
        stages.append(
            nn.Sequential(
                ConvBlock(c[-1], config.embed_dim, config.final_kernel, 1, 0),
                ConvBlock(config.embed_dim, config.embed_dim, 1),
            )
        )
        self.stages = nn.ModuleList(stages)

    def forward(self, faces: torch.Tensor) -> list[torch.Tensor]:
        features = []
        x = faces
        for block in self.stages:
            x = block(x)
            features.append(x)
        return features
