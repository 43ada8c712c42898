"""Kinetics-400 I3D (Inception-v1 inflated to 3-D; Carreira & Zisserman 2017) as the FVD feature network.

FVD's reference detector is StyleGAN-V's `i3d_torchscript.pt`, a TorchScript port of the TF-hub
`i3d-kinetics-400/1` model used by the original FVD code. stfbench never runs that program: it reads the
archive's tensors (`stfbench.safe_torchscript`) and loads them strictly, by name, into this module.

Architecture (DeepMind `kinetics-i3d`): Conv3d_1a_7x7 … Mixed_5c, TF "SAME" padding, BatchNorm eps 1e-3
without bias in the convolutions, a 2×7×7 VALID average pool, a 1×1×1 logits convolution with bias,
logits averaged over the remaining time steps. The output is the 400-d pre-softmax logits (what
`return_features=True` returns). Input (B, 3, T, 224, 224) in [−1, 1], T ≥ 9 (three temporal stride-2
stages leave ⌈T/8⌉ ≥ 2 steps for the temporal pool).

Parameter names are ASSUMED to follow the common PyTorch I3D layout (`Conv3d_1a_7x7.conv3d.weight`,
`Conv3d_1a_7x7.bn.running_mean`, `Mixed_3b.b1b.conv3d.weight`, `logits.conv3d.bias`): the names inside the
real archive could not be established from public sources. A file with other names is refused by
`load_i3d` with a one-line error listing the first differences (docs/metrics.md says how to check).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stfbench.errors import WeightsError

#: Mixed_* modules: (name, [branch0 1×1, branch1 1×1, branch1 3×3, branch2 1×1, branch2 3×3, branch3 pool-1×1]).
MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
NUM_CLASSES = 400
BN_EPS = 1e-3


def _same_pad(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    """Zero padding of (B, C, T, H, W) as TF's "SAME" (the extra element at the end)."""
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride), strict=True):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class Unit3D(nn.Module):
    """Conv3d (SAME padding) → BatchNorm → ReLU; the logits unit has a bias and neither BN nor ReLU."""

    def __init__(self, cin: int, cout: int, kernel=(1, 1, 1), stride=(1, 1, 1), logits: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride, self.is_logits = tuple(kernel), tuple(stride), logits
        self.conv3d = nn.Conv3d(cin, cout, self.kernel, self.stride, bias=logits)
        if not logits:
            self.bn = nn.BatchNorm3d(cout, eps=BN_EPS, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_same_pad(x, self.kernel, self.stride))
        return x if self.is_logits else F.relu(self.bn(x))


class MaxPool3dSame(nn.Module):
    """Max pool with TF "SAME" padding; zero padding equals TF's because every input follows a ReLU (≥ 0)."""

    def __init__(self, kernel, stride) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class Mixed(nn.Module):
    """Inception block: 1×1 | 1×1→3×3×3 | 1×1→3×3×3 | 3×3×3 max pool→1×1, concatenated on channels."""

    def __init__(self, cin: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.b0 = Unit3D(cin, widths[0])
        self.b1a = Unit3D(cin, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a = Unit3D(cin, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(cin, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))]
        return torch.cat(branches, dim=1)


class I3D(nn.Module):
    """Kinetics-400 I3D, RGB stream. `width` scales every channel count (1.0 = the real network; smaller
    widths only make seeded test networks cheap, with the same parameter names)."""

    def __init__(self, width: float = 1.0, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()

        def ch(n: int) -> int:
            return max(1, round(n * width))

        self.Conv3d_1a_7x7 = Unit3D(3, ch(64), (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(ch(64), ch(64))
        self.Conv3d_2c_3x3 = Unit3D(ch(64), ch(192), (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        cin = ch(192)
        for name, widths in MIXED.items():
            if name == "Mixed_4b":
                self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
            block = Mixed(cin, tuple(ch(w) for w in widths))
            setattr(self, name, block)
            cin = block.out_channels
        self.logits = Unit3D(cin, num_classes, logits=True)
        self.order = [
            "Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
            "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
            "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c",
        ]  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) in [−1, 1] → (B, 400) logits averaged over time (pre-softmax)."""
        for name in self.order:
            x = getattr(self, name)(x)
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)  # (B, 1024, T', 1, 1) for 224² input
        x = self.logits(x)  # (B, 400, T', 1, 1); dropout is the identity at inference
        return x.squeeze(4).squeeze(3).mean(dim=2)


def load_i3d(path: str | Path, width: float = 1.0) -> I3D:
    """The I3D in eval mode with the tensors of the TorchScript archive at `path`, matched strictly by name
    and shape (the archive is read without running it); WeightsError naming the file otherwise."""
    from stfbench.safe_torchscript import read_torchscript_tensors

    tensors = read_torchscript_tensors(path)
    model = I3D(width)
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected]
    if missing or extra:
        detail = "; ".join(
            f"{label} {len(keys)} (e.g. {', '.join(keys[:2])})"
            for label, keys in (("missing", missing), ("extra", extra))
            if keys
        )
        raise WeightsError(f"not the I3D layout stfbench reads: {detail}", path)
    wrong = [k for k, v in expected.items() if tuple(tensors[k].shape) != tuple(v.shape)]
    if wrong:
        name = wrong[0]
        found, needed = tuple(tensors[name].shape), tuple(expected[name].shape)
        raise WeightsError(f"I3D tensor {name} has shape {found}, expected {needed}", path)
    model.load_state_dict({k: tensors[k].to(expected[k].dtype) for k in expected}, strict=True)
    return model.eval()


@torch.no_grad()
def i3d_features(
    model: nn.Module, windows: np.ndarray, device: torch.device, batch_size: int = 4, size: int = 224
) -> np.ndarray:
    """400-d features (N, 400) float32 of uint8 RGB windows (N, T, S, S, 3): each frame scaled to [0, 1],
    resized to size² (bilinear, align_corners=False, no antialiasing), mapped to [−1, 1] (StyleGAN-V /
    common_metrics_on_video_quality preprocessing), then the I3D."""
    out = []
    for start in range(0, len(windows), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(windows[start : start + batch_size])).to(device)
        b, t = batch.shape[:2]
        x = batch.reshape(b * t, *batch.shape[2:]).permute(0, 3, 1, 2).float() / 255.0  # (B·T, 3, S, S)
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = (x - 0.5) * 2  # (B·T, 3, size, size) in [−1, 1]
        x = x.reshape(b, t, 3, size, size).permute(0, 2, 1, 3, 4).contiguous()  # (B, 3, T, size, size)
        out.append(model(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, NUM_CLASSES), np.float32)
