"""Visual-quality discriminator on the lower half of a frame (Wav2Lip/SyncTalkFace `disc_qual`)."""

from __future__ import annotations

import torch
from torch import nn

from stfbench.reference_model.blocks import NoNormConvBlock
from stfbench.reference_model.config import ModelConfig


class QualityDiscriminator(nn.Module):
    """Frames (N, 3, H, W) in [−1, 1] → realness logit (N,) from the lower half (H/2 × W).

    Stages as in the released `Wav2Lip_disc_qual` (no normalisation, LeakyReLU 0.01): k7; k5 stride (1, 2);
    k5 s2; k5 s2; k3 s2; k3 s2, every stage but the first followed by a same-size conv of its own kernel
    (5×5 pad 2 after the k5 stages, 3×3 pad 1 after the k3 ones); then a (size/32)-kernel conv to 1×1, a 1×1
    conv, and a 1×1 conv to one logit. `stages.i.j` is the released `face_encoder_blocks.i.j`, `head` its
    `binary_pred.0`. The released code ends in Sigmoid + BCE; the logit + `binary_cross_entropy_with_logits`
    used here is the same loss, numerically safe under AMP.
    """

    SHAPES = ((7, 1, 3), (5, (1, 2), 2), (5, 2, 2), (5, 2, 2), (3, 2, 1), (3, 2, 1))  # (kernel, stride, padding)

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.disc_channels
        stages: list[nn.Module] = []
        cin = 3
        for i, (cout, (kernel, stride, padding)) in enumerate(zip(c[:-1], self.SHAPES, strict=True)):
            blocks = [NoNormConvBlock(cin, cout, kernel, stride, padding)]
            if i > 0:
                blocks.append(NoNormConvBlock(cout, cout, kernel, 1, padding))
            stages.append(nn.Sequential(*blocks))
            cin = cout
        stages.append(
            nn.Sequential(NoNormConvBlock(cin, c[-1], config.final_kernel, 1, 0), NoNormConvBlock(c[-1], c[-1], 1))
        )
        self.stages = nn.ModuleList(stages)
        self.head = nn.Conv2d(c[-1], 1, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames[..., frames.shape[-2] // 2 :, :]  # (N, 3, H/2, W)
        for block in self.stages:
            x = block(x)  # … → (N, C, 1, 1)
        return self.head(x).flatten()  # (N,)
