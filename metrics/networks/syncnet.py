"""SyncNet (Chung & Zisserman 2016) in syncnet_python's layout, and a folded fast path for inference.

`SyncNet` has exactly the module tree of syncnet_python's `SyncNetModel.S` (`netcnnaud`, `netfcaud`,
`netcnnlip`, `netfclip` with the same Sequential indices), so `syncnet_v2.model` loads unchanged.
Inputs: lips (B, 3, 5, 224, 224) BGR float 0–255; audio (B, 1, 13, 20) MFCC. Outputs: (B, 1024)
embeddings, not normalised. `width` scales every channel count (1.0 = the published network) for the
small synthetic-protocol checkpoints.

`FoldedSyncNet` computes the same embeddings faster: every 3-D layer after the first has temporal
kernel 1, so the lip tower runs as 2-D convolutions (the first layer's 5 frames become 15 input
channels), BatchNorm is folded into the preceding convolution/linear layer, and tensors are channels_last.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from stfbench.errors import WeightsError


def _ch(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class SyncNet(nn.Module):
    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.width = width
        a = [_ch(c, width) for c in (64, 192, 384, 256, 256, 512)]
        self.netcnnaud = nn.Sequential(
            nn.Conv2d(1, a[0], 3, 1, 1), nn.BatchNorm2d(a[0]), nn.ReLU(inplace=True),
            nn.MaxPool2d(1, 1),
            nn.Conv2d(a[0], a[1], 3, 1, 1), nn.BatchNorm2d(a[1]), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, (1, 2)),
            nn.Conv2d(a[1], a[2], 3, 1, 1), nn.BatchNorm2d(a[2]), nn.ReLU(inplace=True),
            nn.Conv2d(a[2], a[3], 3, 1, 1), nn.BatchNorm2d(a[3]), nn.ReLU(inplace=True),
            nn.Conv2d(a[3], a[4], 3, 1, 1), nn.BatchNorm2d(a[4]), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(a[4], a[5], (5, 4), 1, 0), nn.BatchNorm2d(a[5]), nn.ReLU(inplace=True),
        )  # fmt: skip
        v = [_ch(c, width) for c in (96, 256, 256, 256, 256, 512)]
        self.netcnnlip = nn.Sequential(
            nn.Conv3d(3, v[0], (5, 7, 7), (1, 2, 2), 0), nn.BatchNorm3d(v[0]), nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(v[0], v[1], (1, 5, 5), (1, 2, 2), (0, 1, 1)), nn.BatchNorm3d(v[1]), nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            nn.Conv3d(v[1], v[2], (1, 3, 3), 1, (0, 1, 1)), nn.BatchNorm3d(v[2]), nn.ReLU(inplace=True),
            nn.Conv3d(v[2], v[3], (1, 3, 3), 1, (0, 1, 1)), nn.BatchNorm3d(v[3]), nn.ReLU(inplace=True),
            nn.Conv3d(v[3], v[4], (1, 3, 3), 1, (0, 1, 1)), nn.BatchNorm3d(v[4]), nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(v[4], v[5], (1, 6, 6), 1, 0), nn.BatchNorm3d(v[5]), nn.ReLU(inplace=True),
        )  # fmt: skip
        hidden, embed = _ch(512, width), _ch(1024, width)
        self.netfcaud = nn.Sequential(
            nn.Linear(a[5], hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, embed)
        )
        self.netfclip = nn.Sequential(
            nn.Linear(v[5], hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, embed)
        )

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) MFCC → (B, E) audio embedding."""
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))

    def forward_lip(self, lips: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, 224, 224) BGR 0–255 → (B, E) lip embedding."""
        return self.netfclip(self.netcnnlip(lips).flatten(1))

    def forward_lip_stacked(self, lips: torch.Tensor) -> torch.Tensor:
        """(B, 15, 224, 224) — 5 BGR frames stacked channel-major (index c·5 + t) → (B, E) lip embedding."""
        return self.forward_lip(lips.unflatten(1, (3, -1)))  # (B, 3, 5, 224, 224)


def infer_width(state: dict[str, torch.Tensor]) -> float:
    """Width multiplier of a syncnet state dict (first audio conv has round(64·width) filters)."""
    return state["netcnnaud.0.weight"].shape[0] / 64


def load_syncnet(path: str | Path, device: torch.device | str = "cpu", width: float | None = None) -> SyncNet:
    """A SyncNet in eval mode with the state dict at `path` (syncnet_v2.model or a stfbench checkpoint).

    Accepts a bare state dict or `{"state_dict": ..., ...}`; every tensor must match by name and shape
    (only BatchNorm `num_batches_tracked` counters, absent from syncnet_v2.model, may be missing).
    """
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"cannot read the SyncNet state dict ({str(error).splitlines()[0]})", path) from None
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or "netcnnaud.0.weight" not in state:
        raise WeightsError("not a SyncNet state dict (no netcnnaud.0.weight)", path)
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        model = SyncNet(width if width is not None else infer_width(state))
    state = {k: v.float() for k, v in state.items()}
    for key, buffer in model.state_dict().items():  # BatchNorm step counters, absent from syncnet_v2.model
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(buffer, device="cpu")
    try:
        result = model.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as error:
        raise WeightsError(f"SyncNet tensor shapes differ ({str(error).splitlines()[1].strip()})", path) from None
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise WeightsError(
            f"SyncNet state dict layout differs: missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}", path
        )
    return model.to(device).eval()


def _fold(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.modules.batchnorm._BatchNorm):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C,)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    folded_bias = (bias if bias is not None else torch.zeros_like(bn.running_mean)) - bn.running_mean
    return weight * scale.view(shape), folded_bias * scale + bn.bias


def _conv2d_from(conv: nn.Conv2d | nn.Conv3d, bn: nn.modules.batchnorm._BatchNorm) -> nn.Conv2d:
    """A Conv2d equal to conv→BN for inputs whose time axis is 1 (or is folded into channels)."""
    weight, bias = _fold(conv.weight, conv.bias, bn)
    if weight.dim() == 5:  # (O, I, kt, kh, kw) → (O, I·kt, kh, kw); channel index = c·kt + t
        weight = weight.reshape(weight.shape[0], -1, *weight.shape[-2:])
    stride, padding = conv.stride[-2:], conv.padding[-2:]
    out = nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[-2:]), stride, padding, device="meta")
    out.weight, out.bias = nn.Parameter(weight), nn.Parameter(bias)
    return out


def _linear_from(linear: nn.Linear, bn: nn.BatchNorm1d) -> nn.Linear:
    weight, bias = _fold(linear.weight, linear.bias, bn)
    out = nn.Linear(linear.in_features, linear.out_features, device="meta")
    out.weight, out.bias = nn.Parameter(weight), nn.Parameter(bias)
    return out


def _pool2d(pool: nn.MaxPool2d | nn.MaxPool3d) -> nn.MaxPool2d:
    def last2(value):
        return tuple(value[-2:]) if isinstance(value, tuple) else value

    return nn.MaxPool2d(last2(pool.kernel_size), last2(pool.stride), last2(pool.padding))


def _fold_tower(layers: nn.Sequential) -> nn.Sequential:
    out: list[nn.Module] = []
    modules = list(layers)
    i = 0
    while i < len(modules):
        layer = modules[i]
        if isinstance(layer, nn.Conv2d | nn.Conv3d):
            out.append(_conv2d_from(layer, modules[i + 1]))
            i += 2
            continue
        if isinstance(layer, nn.MaxPool2d | nn.MaxPool3d):
            out.append(_pool2d(layer))
        elif isinstance(layer, nn.ReLU):
            out.append(nn.ReLU(inplace=True))
        i += 1
    return nn.Sequential(*out)


class FoldedSyncNet(nn.Module):
    """Inference-only SyncNet: 2-D convolutions, BatchNorm folded, channels_last (same outputs to ~1e-5)."""

    def __init__(self, model: SyncNet) -> None:
        super().__init__()
        model = model.eval()
        with torch.no_grad():
            self.aud = _fold_tower(model.netcnnaud)
            self.lip = _fold_tower(model.netcnnlip)
            self.fcaud = nn.Sequential(_linear_from(model.netfcaud[0], model.netfcaud[1]), nn.ReLU(), model.netfcaud[3])
            self.fclip = nn.Sequential(_linear_from(model.netfclip[0], model.netfclip[1]), nn.ReLU(), model.netfclip[3])
        self.eval().requires_grad_(False)
        self.to(memory_format=torch.channels_last)

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) → (B, E)."""
        return self.fcaud(self.aud(mfcc.contiguous(memory_format=torch.channels_last)).flatten(1))

    def forward_lip_stacked(self, lips: torch.Tensor) -> torch.Tensor:
        """(B, 15, 224, 224) — 5 BGR frames stacked channel-major (index c·5 + t) → (B, E)."""
        return self.fclip(self.lip(lips.contiguous(memory_format=torch.channels_last)).flatten(1))

    def forward_lip(self, lips: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, 224, 224) → (B, E)."""
        return self.forward_lip_stacked(lips.flatten(1, 2))
