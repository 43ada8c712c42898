"""Wav2Lip generator at 96×96 (Prajwal et al., ACM MM 2020) with the public checkpoint's module layout.

The attribute names and block order reproduce the public state-dict keys exactly
(`face_encoder_blocks.*`, `audio_encoder.*`, `face_decoder_blocks.*`, `output_block.*`), so `wav2lip.pth`
and `wav2lip_gan.pth` load unchanged at `width_mult=1` (36,298,035 parameters). `width_mult` scales every
hidden channel count for small models trained here (the synthetic-protocol baseline).

Input face: 6 channels = target frame with its lower half zeroed ⊕ reference frame, values in [0, 1].
Input audio: one 80×16 mel window (0.2 s) per output frame. Output: (B, 3, T, 96, 96) in [0, 1] (Sigmoid).
"""

from __future__ import annotations

import torch
from torch import nn

# The same Conv/BN blocks as SyncTalkFace's: their `conv_block.{0,1}` keys are Wav2Lip's public layout.
from stfbench.reference_model.blocks import ConvBlock, ConvTransposeBlock


class Wav2Lip(nn.Module):
    """Wav2Lip generator; `width_mult` scales the hidden channels (1.0 = the public architecture)."""

    IMAGE_SIZE = 96

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        self.width_mult = float(width_mult)

        def c(channels: int) -> int:
            return max(1, round(channels * self.width_mult))

        def res(channels: int) -> ConvBlock:
            return ConvBlock(c(channels), c(channels), 3, 1, 1, residual=True)

        def down(cin: int, cout: int, n_res: int) -> nn.Sequential:
            return nn.Sequential(ConvBlock(c(cin), c(cout), 3, 2, 1), *[res(cout) for _ in range(n_res)])

        self.face_encoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvBlock(6, c(16), 7, 1, 3)),  # 96
                down(16, 32, 2),  # 48
                down(32, 64, 3),  # 24
                down(64, 128, 2),  # 12
                down(128, 256, 2),  # 6
                down(256, 512, 1),  # 3
                nn.Sequential(ConvBlock(c(512), c(512), 3, 1, 0), ConvBlock(c(512), c(512), 1, 1, 0)),  # 1
            ]
        )
        self.audio_encoder = nn.Sequential(
            ConvBlock(1, c(32), 3, 1, 1),
            res(32),
            res(32),
            ConvBlock(c(32), c(64), 3, (3, 1), 1),  # 80×16 → 27×16
            res(64),
            res(64),
            ConvBlock(c(64), c(128), 3, 3, 1),  # → 9×6
            res(128),
            res(128),
            ConvBlock(c(128), c(256), 3, (3, 2), 1),  # → 3×3
            res(256),
            ConvBlock(c(256), c(512), 3, 1, 0),  # → 1×1
            ConvBlock(c(512), c(512), 1, 1, 0),
        )

        def up(cin: int, cout: int, n_res: int) -> nn.Sequential:
            return nn.Sequential(ConvTransposeBlock(cin, c(cout), 3, 2, 1, 1), *[res(cout) for _ in range(n_res)])

        self.face_decoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvBlock(c(512), c(512), 1, 1, 0)),  # 1
                nn.Sequential(ConvTransposeBlock(c(512) * 2, c(512), 3, 1, 0), res(512)),  # 3
                up(c(512) * 2, 512, 2),  # 6
                up(c(512) + c(256), 384, 2),  # 12
                up(c(384) + c(128), 256, 2),  # 24
                up(c(256) + c(64), 128, 2),  # 48
                up(c(128) + c(32), 64, 2),  # 96
            ]
        )
        self.output_block = nn.Sequential(
            ConvBlock(c(64) + c(16), c(32), 3, 1, 1), nn.Conv2d(c(32), 3, 1, 1, 0), nn.Sigmoid()
        )

    def forward(self, audio_sequences: torch.Tensor, face_sequences: torch.Tensor) -> torch.Tensor:
        """audio (B, T, 1, 80, 16) + face (B, 6, T, 96, 96) → (B, 3, T, 96, 96); 4-D inputs (one frame per
        sample: (B, 1, 80, 16), (B, 6, 96, 96)) give (B, 3, 96, 96) as in upstream inference."""
        batch = audio_sequences.size(0)
        sequence_input = face_sequences.dim() == 5
        if sequence_input:
            steps = audio_sequences.size(1)
            audio_sequences = torch.cat([audio_sequences[:, t] for t in range(steps)], dim=0)  # (T·B, 1, 80, 16)
            face_sequences = torch.cat([face_sequences[:, :, t] for t in range(steps)], dim=0)  # (T·B, 6, H, W)
        x = self.audio_encoder(audio_sequences)  # (N, C512, 1, 1)
        skips = []
        feats = face_sequences
        for block in self.face_encoder_blocks:
            feats = block(feats)
            skips.append(feats)
        for block in self.face_decoder_blocks:
            x = block(x)
            x = torch.cat((x, skips.pop()), dim=1)
        out = self.output_block(x)  # (N, 3, 96, 96)
        if sequence_input:
            out = torch.stack(torch.split(out, batch, dim=0), dim=2)  # (B, 3, T, 96, 96)
        return out
