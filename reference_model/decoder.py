"""SyncTalkFace decoder: transposed convolutions from the fused 1×1 feature up to the image, with the
identity encoder's features concatenated after every block (U-Net skips), Tanh output in [−1, 1]."""

from __future__ import annotations

import torch
from torch import nn

from stfbench.reference_model.blocks import ConvBlock, ConvTransposeBlock
from stfbench.reference_model.config import ModelConfig


class Decoder(nn.Module):
    """(fused (N, E), skips [H … H/32, 1×1]) → image (N, 3, H, W) in [−1, 1]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        d = config.decoder_channels
        r = config.decoder_residuals
        skip_channels = [*config.face_channels, config.embed_dim][::-1]  # 1×1 first, full size last
        blocks: list[nn.Module] = [nn.Sequential(ConvBlock(config.embed_dim, d[0], 1))]
        for i, (cout, res) in enumerate(zip(d[1:], r[1:], strict=True)):
            cin = d[i] + skip_channels[i]
            if i == 0:
                up = ConvTransposeBlock(cin, cout, config.final_kernel, 1, 0)  # 1 → size/32
            else:
                up = ConvTransposeBlock(cin, cout, 3, 2, 1, output_padding=1)  # ×2
            blocks.append(nn.Sequential(up, *[ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(res)]))
        self.blocks = nn.ModuleList(blocks)
        self.output = nn.Sequential(
            ConvBlock(d[-1] + skip_channels[-1], config.output_channels, 3, 1, 1),
            nn.Conv2d(config.output_channels, 3, 1),
            nn.Tanh(),
        )

    def forward(self, fused: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = fused[:, :, None, None]  # (N, E, 1, 1)
        for block, skip in zip(self.blocks, reversed(skips), strict=True):
            x = torch.cat([block(x), skip], dim=1)
        return self.output(x)  # (N, 3, H, W)
