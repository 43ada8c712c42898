"""Wav2Lip-style colour SyncNet expert: lower halves of 5 frames and a mel window → two unit embeddings.

sync probability = cos(audio_embedding, face_embedding) ∈ [0, 1] (both embeddings are ReLU outputs,
L2-normalised); trained with BCE against in-sync (1) / off-sync (0) labels. The layout at 96×96 with the
`wav2lip` preset equals Wav2Lip's `SyncNet_color`, so its public `lipsync_expert.pth` loads as is.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from stfbench.errors import WeightsError
from stfbench.hashing import sha256_file
from stfbench.reference_model.blocks import ConvBlock, audio_encoder_blocks
from stfbench.reference_model.config import ExpertConfig, expert_preset
from stfbench.reference_model.generator import check_mel
from stfbench.safe_load import load_torch_file

SYNC_FRAMES = 5
#: SHA-256 of Wav2Lip's public colour expert `lipsync_expert.pth` (see docs/synctalkface.md).
WAV2LIP_EXPERT_SHA256 = "9b9936c721696446eeed353032cab242a8cf0eed8c46cde540366f6ae5493be5"


class ColorSyncNet(nn.Module):
    """Face input (N, 15, H/2, W): lower halves of 5 RGB frames in [0, 1], frame-major channels."""

    def __init__(self, config: ExpertConfig):
        super().__init__()
        self.config = config
        c, r = config.face_channels, config.face_residuals
        shapes = [(7, 1, 3), (5, (1, 2), 1), (3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 2, 1)]
        blocks: list[nn.Module] = []
        cin = 3 * SYNC_FRAMES
        for cout, res, (kernel, stride, padding) in zip(c, r, shapes, strict=True):
            blocks.append(ConvBlock(cin, cout, kernel, stride, padding))
            blocks += [ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(res)]
            cin = cout
        final = config.image_size // 32
        blocks += [
            ConvBlock(cin, config.embed_dim, final, 1, 0),
            ConvBlock(config.embed_dim, config.embed_dim, 1, 1, 0),
        ]
        self.face_encoder = nn.Sequential(*blocks)
        self.audio_encoder = nn.Sequential(
            *audio_encoder_blocks(config.audio_channels, config.audio_residuals, config.embed_dim)
        )

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 1, 80, 16) mel, (N, 15, H/2, W) faces → unit audio and face embeddings, each (N, E)."""
        check_mel(mel)
        if self.config.channel_order == "bgr":
            n, _, h, w = faces.shape
            faces = faces.view(n, SYNC_FRAMES, 3, h, w).flip(2).reshape(n, 3 * SYNC_FRAMES, h, w)
        audio = F.normalize(self.audio_encoder(mel).flatten(1), dim=1)
        face = F.normalize(self.face_encoder(faces).flatten(1), dim=1)
        return audio, face

    def sync_probability(self, mel: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """cos(audio, face) clamped to [1e-7, 1 − 1e-7]: (N,)."""
        audio, face = self.forward(mel, faces)
        return (audio * face).sum(1).float().clamp(1e-7, 1 - 1e-7)


def sync_faces(frames: torch.Tensor) -> torch.Tensor:
    """(N, 5, 3, H, W) frames in [−1, 1] → expert input (N, 15, H/2, W) in [0, 1] (lower halves)."""
    n, t, ch, h, w = frames.shape
    lower = (frames[..., h // 2 :, :] + 1) / 2
    return lower.reshape(n, t * ch, h - h // 2, w)


def sync_bce(expert: ColorSyncNet, mel: torch.Tensor, faces: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """BCE between the expert's sync probability and a 0/1 label (N,)."""
    return F.binary_cross_entropy(expert.sync_probability(mel, faces), label.float())


def load_wav2lip_expert(path: str | Path, verify_sha256: bool = True) -> ColorSyncNet:
    """Wav2Lip's `lipsync_expert.pth` (dict with "state_dict", keys maybe prefixed "module.") → frozen expert."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            "Wav2Lip colour expert not found; download lipsync_expert.pth (see docs/synctalkface.md) "
            "or train one with `stfbench train-expert --kind color-syncnet`",
            path,
        )
    if verify_sha256 and (digest := sha256_file(path)) != WAV2LIP_EXPERT_SHA256:
        raise WeightsError(
            f"SHA-256 {digest[:12]}… is not Wav2Lip's lipsync_expert.pth ({WAV2LIP_EXPERT_SHA256[:12]}…)", path
        )
    expert = ColorSyncNet(expert_preset("wav2lip", channel_order="bgr"))
    load_expert_state(expert, load_torch_file(path, "expert checkpoint"), path)
    return freeze(expert)


def load_expert_state(expert: ColorSyncNet, checkpoint: dict, path: str | Path) -> None:
    """Load a (maybe "module."-prefixed, maybe wrapped in "state_dict") state dict, naming any mismatch."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise WeightsError("not a colour SyncNet state dict", path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = expert.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise WeightsError(f"not a colour SyncNet layout: missing {missing[:3]}, unexpected {unexpected[:3]}", path)
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise WeightsError(f"{key} has shape {tuple(tensor.shape)}, expected {tuple(own[key].shape)}", path)
    expert.load_state_dict(state)


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients (a frozen loss network)."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module
