"""Visual-quality discriminator on the lower half of a frame (Wav2Lip/SyncTalkFace `disc_qual`)."""

from __future__ import annotations

import torch
from torch import nn

from stfbench.reference_model.blocks import NoNormConvBlock
from stfbench.reference_model.config import ModelConfig


class QualityDiscriminator(nn.Module):
    """Frames (N, 3, H, W) in [−1, 1] → realness logit (N,) from the lower half (H/2 × W).

    Stages (no normalisation, LeakyReLU 0.01): k7; k5 stride (1, 2); k5 s2; k5 s2; k3 s2; k3 s2 (all but the
    first followed by a same-size 3×3 conv), then a (size/32)-kernel conv to 1×1 and a 1×1 conv to one logit.
    The released code ends in Sigmoid + BCE; the logit + `binary_cross_entropy_with_logits` used here is the
    same loss, numerically safe under AMP.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.disc_channels
        shapes = [(7, 1, 3), (5, (1, 2), 2), (5, 2, 2), (5, 2, 2), (3, 2, 1), (3, 2, 1)]
        blocks: list[nn.Module] = []
        cin = 3
        for i, (cout, (kernel, stride, padding)) in enumerate(zip(c[:-1], shapes, strict=True)):
            blocks.append(NoNormConvBlock(cin, cout, kernel, stride, padding))
            if i > 0:
                blocks.append(NoNormConvBlock(cout, cout, 3, 1, 1))
            cin = cout
        blocks += [NoNormConvBlock(cin, c[-1], config.final_kernel, 1, 0), NoNormConvBlock(c[-1], c[-1], 1)]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(c[-1], 1, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        lower = frames[..., frames.shape[-2] // 2 :, :]  # (N, 3, H/2, W)
        return self.head(self.blocks(lower)).flatten()  # (N,)
