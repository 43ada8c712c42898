"""Weights in the key layout of the authors' released SyncTalkFace code (commit 9d5d08d) → our modules.

The released training script saves `{"model_state_dict", "dec_state_dict", "disc_state_dict"}`:
- generator (`Wav2Lip` there): `mem.*`, `lip_encoder.N.*`, `face_encoder_blocks.i.j.*`, `audio_encoder.N.*`;
- decoder (`Wav2Lip_decoder`): `face_decoder_blocks.i.j.*`, `output_block.k.*`;
- discriminator (`Wav2Lip_disc_qual`, also Wav2Lip's `visual_quality_disc.pth`): `face_encoder_blocks.i.j.*`,
  `binary_pred.0.*`.

The released code reads frames with OpenCV, so its image-facing layers see and emit BGR; ours take RGB.
Loading flips the input channels of every convolution that reads an image (identity encoder's first conv:
target and reference halves; the lip encoder's Conv3d; the discriminator's first conv) and the output
channels of the decoder's last conv, so a forward on RGB frames equals the released forward on the BGR ones.
Loading is strict: a missing or unexpected key is an error naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from stfbench.errors import WeightsError
from stfbench.reference_model.config import ModelConfig, model_preset

GENERATOR_PREFIXES = {  # released prefix → ours (SyncTalkFace state dict)
    "mem.": "memory.",
    "lip_encoder.": "lip_encoder.layers.",
    "face_encoder_blocks.": "identity_encoder.stages.",
    "audio_encoder.": "audio_encoder.blocks.",
    "face_decoder_blocks.": "decoder.blocks.",
    "output_block.": "decoder.output.",
}
DISCRIMINATOR_PREFIXES = {"face_encoder_blocks.": "stages.", "binary_pred.0.": "head."}
GENERATOR_BGR_INPUTS = ("identity_encoder.stages.0.0.conv_block.0.weight", "lip_encoder.layers.0.weight")
GENERATOR_BGR_OUTPUTS = ("decoder.output.1.weight", "decoder.output.1.bias")
DISCRIMINATOR_BGR_INPUTS = ("stages.0.0.conv_block.0.weight",)


def _flip_inputs(weight: torch.Tensor) -> torch.Tensor:
    """Reverse the colour order of a conv's input channels, per group of 3 (6 = target ⊕ reference)."""
    groups = weight.shape[1] // 3
    order = [3 * g + c for g in range(groups) for c in (2, 1, 0)]
    return weight[:, order]


def _rename(state: dict[str, torch.Tensor], prefixes: dict[str, str], path: Path | str) -> dict[str, torch.Tensor]:
    renamed = {}
    for key, value in state.items():
        key = key.removeprefix("module.")  # DataParallel
        for old, new in prefixes.items():
            if key.startswith(old):
                renamed[new + key[len(old) :]] = value
                break
        else:
            raise WeightsError(f"unexpected key {key!r} for the released SyncTalkFace layout", path)
    return renamed


def generator_state_from_released(
    generator: dict[str, torch.Tensor], decoder: dict[str, torch.Tensor], path: Path | str = "<state dict>"
) -> dict[str, torch.Tensor]:
    """Released `model_state_dict` + `dec_state_dict` → a `SyncTalkFace` state dict (RGB)."""
    state = _rename({**generator, **decoder}, GENERATOR_PREFIXES, path)
    for key in GENERATOR_BGR_INPUTS:
        if key in state:
            state[key] = _flip_inputs(state[key])
    for key in GENERATOR_BGR_OUTPUTS:
        if key in state:
            state[key] = state[key].flip(0)
    return state


def discriminator_state_from_released(
    disc: dict[str, torch.Tensor], path: Path | str = "<state dict>"
) -> dict[str, torch.Tensor]:
    """Released `disc_state_dict` or Wav2Lip's `visual_quality_disc.pth` state → a `QualityDiscriminator` state."""
    state = _rename(disc, DISCRIMINATOR_PREFIXES, path)
    for key in DISCRIMINATOR_BGR_INPUTS:
        if key in state:
            state[key] = _flip_inputs(state[key])
    return state


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], path: Path | str) -> None:
    """`load_state_dict(strict=True)` with shape and key errors as one WeightsError naming `path`."""
    ours = module.state_dict()
    missing = sorted(set(ours) - set(state))
    unexpected = sorted(set(state) - set(ours))
    wrong = [k for k in ours if k in state and ours[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{label} {keys[:3]}{' …' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        )
        raise WeightsError(f"does not fit {type(module).__name__}: {detail}", path)
    module.load_state_dict(state, strict=True)


def config_from_released(generator: dict[str, torch.Tensor], path: Path | str) -> ModelConfig:
    """The `paper` preset at the image size and slot count the released weights were trained with."""
    try:
        final_kernel = generator["face_encoder_blocks.6.0.conv_block.0.weight"].shape[-1]
        slots = generator["mem.key"].shape[0] if "mem.key" in generator else 0
    except (KeyError, AttributeError, IndexError) as error:
        raise WeightsError(f"not a released SyncTalkFace generator ({error})", path) from None
    return model_preset("paper", image_size=32 * int(final_kernel), slots=int(slots))


def is_released_checkpoint(checkpoint: Any) -> bool:
    """True for the dict the released train.py saves (`model_state_dict` and `dec_state_dict`)."""
    return isinstance(checkpoint, dict) and "model_state_dict" in checkpoint and "dec_state_dict" in checkpoint
