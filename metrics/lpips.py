"""LPIPS (Zhang et al. 2018) between generated and ground-truth crops (↓, unitless, ≥ 0; 0 if identical).

The lpips package's v0.1 model (`lpips-alex`: ImageNet AlexNet trunk + linear heads) on uint8 RGB frames
scaled to [−1, 1]; clip value = mean over frames, dataset value = mean over all frames.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stfbench.errors import WeightsError
from stfbench.metrics.base import FrameMeanMetric


def load_lpips_alex(trunk_path: str | Path, head_path: str | Path, device: torch.device) -> torch.nn.Module:
    """`lpips.LPIPS(net='alex')` with the trunk from `alexnet-owt-7be5be79.pth` and heads from `alex.pth`."""
    import lpips
    import torchvision

    with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=` argument
        warnings.filterwarnings("ignore", "The parameter 'pretrained' is deprecated", UserWarning)
        warnings.filterwarnings("ignore", "Arguments other than a weight enum", UserWarning)
        model = lpips.LPIPS(
            net="alex", version="0.1", pretrained=True, pnet_rand=True, model_path=str(head_path), verbose=False
        )
    alexnet = torchvision.models.alexnet()
    try:
        alexnet.load_state_dict(torch.load(trunk_path, map_location="cpu", weights_only=True))
    except Exception as error:
        raise WeightsError(f"not a torchvision AlexNet state dict ({str(error).splitlines()[0]})", trunk_path) from None
    for slice_ in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for index, layer in slice_.named_children():
            layer.load_state_dict(alexnet.features[int(index)].state_dict())
    return model.to(device).eval()


class LPIPS(FrameMeanMetric):
    key = "lpips"

    def __init__(
        self,
        model: torch.nn.Module,
        device: torch.device,
        net: str = "alex",
        batch_size: int = 32,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.device = device
        self.net = net
        self.batch_size = batch_size
        self.weights = provenance or {}

    @property
    def name(self) -> str:
        return f"lpips-{self.net}"

    def clip_stage(self) -> None:
        return None  # a network: it runs where the model is

    @torch.no_grad()
    def frame_values(self, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(gt), self.batch_size):
            a = torch.from_numpy(gt[start : start + self.batch_size]).to(self.device).permute(0, 3, 1, 2).float()
            b = torch.from_numpy(pred[start : start + self.batch_size]).to(self.device).permute(0, 3, 1, 2).float()
            out.append(self.model(a / 127.5 - 1, b / 127.5 - 1).flatten().cpu().numpy())  # (B,)
        return np.concatenate(out).astype(np.float64)

    def settings(self) -> dict[str, Any]:
        return {
            "net": f"lpips-{self.net} v0.1",
            "input": "RGB scaled to [-1, 1]",
            "aggregate": "mean over frames",
            "weights": self.weights,
        }
