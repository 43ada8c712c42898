"""`--model synctalkface`: the SyncTalkFace reference model (committed tiny checkpoint for the synthetic
protocol, or any checkpoint trained with `stfbench train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from stfbench.adapters.base import GenerationRequest, ModelAdapter
from stfbench.errors import ModelError, WeightsError
from stfbench.prerequisites import Check, check_checkpoint

#: Weight-registry id used without `--checkpoint`, per dataset.
DEFAULT_CHECKPOINTS = {"synthetic": "synctalkface_tiny_synthetic"}


class SyncTalkFaceAdapter(ModelAdapter):
    """Generates every frame with the key-addressed (inference) path: pose = the target crop with its lower
    half masked, identity = the protocol's reference crop, audio = the mel window of that frame."""

    name = "synctalkface"

    def __init__(self, checkpoint: str | Path | None = None, batch_size: int = 32, trust_unverified: bool = False):
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.batch_size = int(batch_size)
        self.trust_unverified = bool(trust_unverified)
        self.loaded = None

    def prepare(self, protocol: Any, device: torch.device) -> None:
        from stfbench.reference_model.inference import load_generator

        path = resolve_checkpoint(self.checkpoint, getattr(protocol, "dataset", None), self.trust_unverified)
        self.checkpoint = str(path)
        self.loaded = load_generator(path, device)

    def prerequisites(self, dataset: str) -> list[Check]:
        fix = "train one with `stfbench train --model synctalkface --dataset D` and pass --checkpoint PATH"
        default = DEFAULT_CHECKPOINTS.get(dataset)
        return check_checkpoint(self.name, self.checkpoint, default, self.trust_unverified, fix)

    def generate(self, request: GenerationRequest) -> np.ndarray:
        from stfbench.reference_model.inference import generate_crops

        if self.loaded is None:
            raise ModelError("synctalkface: prepare() was not called")
        return generate_crops(
            self.loaded.model, request.target_crops, request.reference_crops, request.mel, request.fps, self.batch_size
        )

    def provenance(self) -> dict[str, Any]:
        info: dict[str, Any] = {"model": self.name, "checkpoint": self.checkpoint}
        if self.loaded is not None:
            config = self.loaded.model.config
            info.update(
                checkpoint_sha256=self.loaded.sha256,
                slots=config.slots,
                image_size=config.image_size,
                kappa=config.kappa,
                trained_by=self.loaded.run.get("command"),
            )
        return info


def resolve_checkpoint(checkpoint: str | None, dataset: str | None, trust_unverified: bool = False) -> Path:
    """`--checkpoint` as a path or weight-registry id; without it the dataset's default registry id."""
    from stfbench.weights import entries, resolve

    if checkpoint is not None and checkpoint not in entries():
        return Path(checkpoint)
    weight_id = checkpoint or DEFAULT_CHECKPOINTS.get(dataset or "")
    if weight_id is None:
        raise WeightsError(
            f"synctalkface: no default checkpoint for dataset {dataset!r}; train one with `stfbench train "
            "--model synctalkface` and pass --checkpoint PATH"
        )
    if weight_id not in entries():
        raise WeightsError(f"synctalkface: no checkpoint registered as {weight_id!r}; pass --checkpoint PATH")
    return resolve(weight_id, trust_unverified)
