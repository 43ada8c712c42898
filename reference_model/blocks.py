"""Convolution blocks shared by every SyncTalkFace network.

The attribute names (`conv_block.0` = convolution, `conv_block.1` = batch norm) give the same state-dict
keys as Wav2Lip's public checkpoints, so `lipsync_expert.pth` loads without renaming.
"""

from __future__ import annotations

import torch
from torch import nn

Size = int | tuple[int, int]


class ConvBlock(nn.Module):
    """Conv2d → BatchNorm2d → (+ input when `residual`) → ReLU."""

    def __init__(self, cin: int, cout: int, kernel: Size, stride: Size = 1, padding: Size = 0, residual: bool = False):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class NoNormConvBlock(nn.Module):
    """Conv2d → LeakyReLU(0.01), no normalisation (discriminator)."""

    def __init__(self, cin: int, cout: int, kernel: Size, stride: Size = 1, padding: Size = 0):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding))
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


class ConvTransposeBlock(nn.Module):
    """ConvTranspose2d → BatchNorm2d → ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: Size, stride: Size = 1, padding: Size = 0, output_padding: Size = 0
    ):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def bilinear_taps(kernel: int, stride: int) -> torch.Tensor:
    """1-D linear-interpolation taps max(0, 1 − |j − (k−1)/2| / s), j = 0 … k−1 (k=3, s=2: ½, 1, ½).

    Every output pixel of a stride-s transposed convolution with these taps receives weights summing to 1,
    whichever phase it has, so no one-pixel pattern of period s (checkerboard) comes from the kernel."""
    j = torch.arange(kernel, dtype=torch.float64)
    return (1 - (j - (kernel - 1) / 2).abs() / stride).clamp(min=0)


@torch.no_grad()
def bilinear_upsampling_init(module: nn.Module) -> int:
    """Re-initialise every strided `ConvTranspose2d` in `module` as bilinear upsampling of a random channel
    mix: weight[i, o] = m[i, o] · taps ⊗ taps with m[i, o] = the sum of torch's default draw over the kernel,
    so the random stream and the channel mixing are torch's and only the spatial profile changes (Odena et
    al. 2016; Aitken et al. 2017). Bias unchanged. Returns the number of layers changed."""
    changed = 0
    for layer in module.modules():
        if isinstance(layer, nn.ConvTranspose2d) and max(layer.stride) > 1:
            (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
            kernel = torch.outer(bilinear_taps(kh, sh), bilinear_taps(kw, sw)).to(layer.weight)  # (kH, kW)
            mix = layer.weight.sum(dim=(2, 3), keepdim=True)  # (C_in, C_out, 1, 1)
            layer.weight.copy_(mix * kernel)
            changed += 1
    return changed


def stage(
    cin: int, cout: int, residuals: int, kernel: Size = 3, stride: Size = 2, padding: Size = 1
) -> list[nn.Module]:
    """One encoder stage: a (strided) ConvBlock followed by `residuals` residual 3×3 ConvBlocks."""
    blocks: list[nn.Module] = [ConvBlock(cin, cout, kernel, stride, padding)]
    blocks += [ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(residuals)]
    return blocks


def audio_encoder_blocks(channels: tuple[int, ...], residuals: tuple[int, ...], embed_dim: int) -> list[nn.Module]:
    """Wav2Lip's mel encoder as a flat block list: 1×80×16 → 27×16 → 9×6 → 3×3 → 1×1×embed_dim."""
    strides: list[Size] = [1, (3, 1), 3, (3, 2)]
    blocks: list[nn.Module] = []
    cin = 1
    for cout, res, stride in zip(channels, residuals, strides, strict=True):
        blocks += stage(cin, cout, res, 3, stride, 1)
        cin = cout
    blocks += [ConvBlock(cin, embed_dim, 3, 1, 0), ConvBlock(embed_dim, embed_dim, 1, 1, 0)]
    return blocks
