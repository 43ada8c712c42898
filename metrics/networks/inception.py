"""pytorch-fid's InceptionV3 (pool3, 2048-d) built from a registry-resolved, hash-checked weight file.

pytorch-fid only loads its weights by URL; `load_fid_inception` builds pytorch-fid's own `InceptionV3`
(its FID blocks, resize to 299 bilinear, scaling to [−1, 1]) while handing it the state dict read from
the verified local file instead of downloading.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import torch
from pytorch_fid import inception as fid_inception

from stfbench.errors import WeightsError


def load_fid_inception(weight_path: str | Path, dims: int = 2048) -> fid_inception.InceptionV3:
    """pytorch-fid `InceptionV3([block for dims])` in eval mode with the weights at `weight_path`."""
    try:
        state = torch.load(weight_path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle/zip errors of a corrupt file
        raise WeightsError(f"cannot read the Inception state dict ({error})", weight_path) from None

    def from_file(url: str, *args, **kwargs) -> dict:
        if url != fid_inception.FID_WEIGHTS_URL:
            raise WeightsError(f"unexpected download request {url}")
        return state

    block = fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[dims]
    with mock.patch.object(fid_inception, "load_state_dict_from_url", from_file):
        try:
            model = fid_inception.InceptionV3([block])
        except RuntimeError as error:  # wrong keys or shapes
            raise WeightsError(
                f"not a pytorch-fid Inception state dict ({str(error).splitlines()[0]})", weight_path
            ) from None
    return model.eval()


@torch.no_grad()
def inception_features(model: torch.nn.Module, frames: np.ndarray, device: torch.device, batch_size: int = 50):
    """Pool3 activations (N, D) float32 of uint8 RGB frames (N, H, W, 3), preprocessed as pytorch-fid
    does for image files (ToTensor: /255, then the model's own resize and scaling)."""
    out = []
    for start in range(0, len(frames), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(frames[start : start + batch_size])).to(device)
        batch = batch.permute(0, 3, 1, 2).float() / 255.0  # (B, 3, H, W) in [0, 1]
        pred = model(batch)[0]  # (B, D, h, w)
        if pred.shape[2] != 1 or pred.shape[3] != 1:
            pred = torch.nn.functional.adaptive_avg_pool2d(pred, output_size=(1, 1))
        out.append(pred.squeeze(3).squeeze(2).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
