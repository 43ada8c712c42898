"""SyncTalkFace losses. Images are in [−1, 1]; L1 is measured on [0, 1] as in the released code.

- recon: mean |Î − I| on [0, 1] (↓).
- laplacian (stfbench option, off in the released recipe): mean |∇²Î − ∇²I| on [0, 1] with the 3×3
  four-neighbour Laplacian per channel (↓). A one-pixel checkerboard of amplitude a costs 8a here against
  a in `recon`, so this term trains away transposed-convolution artefacts that L1 barely sees.
- av_sync: BCE(cos(F_a(mel), F_v(lower halves of Î_{t..t+4})), 1) with the frozen expert (↓).
- vv_sync: mean |E_lip'(Î window) − E_lip(I window)|, E_lip' = the lip encoder with detached weights, so
  this term moves only the generated frames (and, through the GT branch, the live lip encoder) (↓).
- GAN: BCE with logits; the generator wants D(Î) = 1, the discriminator D(I) = 1, D(Î) = 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from stfbench.reference_model.generator import mask_upper_half
from stfbench.reference_model.syncnet import ColorSyncNet, sync_bce, sync_faces


def recon_l1(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 on [0, 1] of two [−1, 1] images."""
    return (generated - target).abs().mean() / 2


LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_l1(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 on [0, 1] between the per-channel Laplacians of two (N, C, H, W) [−1, 1] images (valid region)."""
    channels = generated.shape[1]
    kernel = LAPLACIAN.to(generated).expand(channels, 1, 3, 3)  # (C, 1, 3, 3): depthwise
    difference = F.conv2d(generated - target, kernel, groups=channels)  # (N, C, H−2, W−2); linear, so ∇²Î − ∇²I
    return difference.abs().mean() / 2


def av_sync_loss(expert: ColorSyncNet, sync_mel: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """window (B, 5, 3, H, W) in [−1, 1], sync_mel (B, 1, 80, 16) aligned with its first frame."""
    faces = sync_faces(window).float()
    return sync_bce(expert, sync_mel.float(), faces, torch.ones(window.shape[0], device=window.device))


def vv_sync_loss(lip_encoder: nn.Module, window: torch.Tensor, gt_lip: torch.Tensor) -> torch.Tensor:
    """window (B, 5, 3, H, W) generated, gt_lip (B, E) = live lip encoder on the GT window (detach it to keep
    this term from training the lip encoder)."""
    params = {name: p.detach() for name, p in lip_encoder.named_parameters()}
    buffers = {name: b.clone() for name, b in lip_encoder.named_buffers()}  # BN statistics stay untouched
    clip = mask_upper_half(window.permute(0, 2, 1, 3, 4))  # (B, 3, 5, H, W)
    generated_lip = functional_call(lip_encoder, {**params, **buffers}, (clip,))
    return F.l1_loss(generated_lip, gt_lip)


def gan_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def gan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE(D(I), 1) + Σ_paths BCE(D(Î_path), 0); real (N,), fake (P, N) with one row per generation path."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction="none")
    return real + fake.mean(dim=1).sum()
