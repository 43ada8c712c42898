"""ArcFace identity embeddings: InsightFace arcface_torch's iResNet read from its `backbone.pth` state dict.

The network is arcface_torch's `IResNet` (`recognition/arcface_torch/backbones/iresnet.py`) with the same
module names, so a released `backbone.pth` (e.g. `ms1mv3_arcface_r100_fp16`, iResNet-100 = blocks
(3, 13, 30, 3)) loads with strict keys; the block counts are read from the file's keys. The file is read
with `torch.load(weights_only=True)`; fp16 tensors become fp32.

Input: a face aligned to 112×112 by the similarity transform that maps its five points (eye centres, nose
tip, mouth corners) onto InsightFace's ArcFace template (`align_face`), RGB, (x / 255 − 0.5) / 0.5.
Output: the 512-d embedding, L2-normalised (`embed`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from stfbench.errors import WeightsError

SIZE = 112
#: InsightFace's ArcFace 5-point template in the 112×112 crop (`insightface.utils.face_align.arcface_dst`):
#: left eye, right eye, nose tip, left and right mouth corner (as seen in the image).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


def five_points(points: np.ndarray) -> np.ndarray:
    """(5, 2) ArcFace points of a (68, 2) iBUG landmark set: eye centres (36–41, 42–47), nose tip (30), mouth
    corners (48, 54)."""
    return np.stack([points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]])


def similarity_to_template(points: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity transform (rotation, uniform scale, translation) mapping (5, 2) points
    onto `ARCFACE_TEMPLATE` (the Umeyama solution InsightFace's `estimate_norm` uses)."""
    x, y = points[:, 0], points[:, 1]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    design = np.concatenate([np.stack([x, -y, ones, zeros], 1), np.stack([y, x, zeros, ones], 1)])  # (10, 4)
    target = np.concatenate([ARCFACE_TEMPLATE[:, 0], ARCFACE_TEMPLATE[:, 1]])  # (10,)
    a, b, tx, ty = np.linalg.lstsq(design, target, rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


def align_face(frame: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(112, 112, 3) uint8: `frame` (H, W, 3) warped so that its (68, 2) landmarks' five points sit on the
    ArcFace template (cv2.warpAffine, bilinear, black border — as InsightFace's `norm_crop`)."""
    import cv2

    matrix = similarity_to_template(five_points(points))
    return cv2.warpAffine(np.ascontiguousarray(frame), matrix, (SIZE, SIZE), borderValue=0.0)


def _conv3x3(inplanes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)


class IBasicBlock(nn.Module):
    """Pre-activation block: BN, conv3×3, BN, PReLU, conv3×3 (stride), BN, plus the (downsampled) input."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-05)
        self.conv1 = _conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-05)
        self.prelu = nn.PReLU(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-05)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (x if self.downsample is None else self.downsample(x))


class IResNet(nn.Module):
    """arcface_torch's IResNet (dropout 0, 512 features): (B, 3, 112, 112) → (B, 512), not normalised."""

    def __init__(self, blocks: Sequence[int], num_features: int = 512) -> None:
        super().__init__()
        self.blocks = tuple(blocks)
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=1e-05)
        self.prelu = nn.PReLU(64)
        self.layer1, self.layer2, self.layer3, self.layer4 = (
            self._make_layer(planes, count) for planes, count in zip((64, 128, 256, 512), blocks, strict=True)
        )
        self.bn2 = nn.BatchNorm2d(512, eps=1e-05)
        self.dropout = nn.Dropout(p=0.0)
        self.fc = nn.Linear(512 * 7 * 7, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)

    def _make_layer(self, planes: int, count: int) -> nn.Sequential:
        downsample = nn.Sequential(
            nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(planes, eps=1e-05)
        )
        layers = [IBasicBlock(self.inplanes, planes, 2, downsample)]
        self.inplanes = planes
        layers += [IBasicBlock(planes, planes) for _ in range(1, count)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prelu(self.bn1(self.conv1(x)))  # (B, 64, 112, 112)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512, 7, 7)
        x = self.dropout(torch.flatten(self.bn2(x), 1))  # (B, 25088)
        return self.features(self.fc(x))  # (B, 512)


def _blocks(keys: Sequence[str]) -> tuple[int, int, int, int] | None:
    """Blocks per stage from `layer<i>.<j>.…` keys, or None when a stage is absent."""
    counts = {}
    for key in keys:
        if found := re.match(r"layer([1-4])\.(\d+)\.", key):
            stage, index = int(found[1]), int(found[2])
            counts[stage] = max(counts.get(stage, 0), index + 1)
    return tuple(counts[s] for s in (1, 2, 3, 4)) if len(counts) == 4 else None  # type: ignore[return-value]


def _key_names(keys: Sequence[str]) -> set[str]:
    return {k for k in keys if not k.endswith("num_batches_tracked")}  # BN step counters: no weights


def load_arcface(path: str | Path) -> IResNet:
    """The iResNet of an arcface_torch `backbone.pth` state dict (eval mode, fp32); WeightsError naming the
    file when it cannot be read or its keys or shapes differ from arcface_torch's layout."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a zip/pickle state dict, or a pickle that needs more than tensors
        raise WeightsError(f"cannot read the ArcFace state dict ({str(error).splitlines()[0]})", path) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError("not an arcface_torch backbone state dict (expected a dict of tensors)", path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    blocks = _blocks(list(state))
    if blocks is None:
        raise WeightsError("not an arcface_torch iResNet state dict (no layer1..layer4 keys)", path)
    model = IResNet(blocks)
    expected, given = _key_names(list(model.state_dict())), _key_names(list(state))
    if expected != given:
        missing, extra = sorted(expected - given), sorted(given - expected)
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}" if missing else "",
                f"unexpected {', '.join(extra[:3])}{' …' if len(extra) > 3 else ''}" if extra else "",
            )
            if part
        )
        raise WeightsError(f"not an arcface_torch iResNet{blocks} state dict ({detail})", path)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}  # fp16 files → fp32
    try:
        model.load_state_dict(state, strict=False)  # keys were compared above (BN counters may be absent)
    except RuntimeError as error:  # shapes
        message = next((line.strip() for line in str(error).splitlines() if "size mismatch" in line), str(error))
        raise WeightsError(f"not an arcface_torch iResNet{blocks} state dict ({message})", path) from None
    return model.eval()


@torch.no_grad()
def embed(model: nn.Module, faces: np.ndarray, device: torch.device, batch_size: int = 32) -> np.ndarray:
    """(N, 512) float32 L2-normalised embeddings of aligned uint8 RGB faces (N, 112, 112, 3)."""
    out = []
    for start in range(0, len(faces), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(faces[start : start + batch_size])).to(device)
        batch = (batch.permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5  # (B, 3, 112, 112) in [−1, 1]
        out.append(nn.functional.normalize(model(batch), dim=1).cpu().numpy())  # (B, 512)
    return np.concatenate(out) if out else np.zeros((0, 512), np.float32)
