"""Load Wav2Lip generator weights from any of the files users have, choosing the loader by digest/format.

Accepted files (their SHA-256 and sizes are in the weight registry, `stfbench/weights/registry.toml`):
- legacy full training checkpoints `wav2lip.pth` / `wav2lip_gan.pth`: a dict with `state_dict`
  (keys possibly prefixed `module.` by DataParallel), loaded into `Wav2Lip()`;
- a bare state dict with the same keys (also `module.`-prefixed), any `width_mult` (inferred from the
  first convolution, or stored as `width_mult` by `save_inference_checkpoint`);
- the TorchScript files the Wav2Lip README links since 2025 (`Wav2Lip-SD-GAN.pt`, `Wav2Lip-SD-NOGAN.pt`):
  their tensors are read without running the archive (`stfbench.safe_torchscript`) into `Wav2Lip()` by
  name; only a file whose tensors do not fit is run as a program (`torch.jit.load`), and only when its
  digest is a published file's or `--allow-pickle` names it.
Broken copies seen in the wild (Git LFS pointers, HTML pages saved as .pth, truncated uploads) fail with a
one-line `WeightsError` that says what the file is.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stfbench.adapters.wav2lip.model import Wav2Lip
from stfbench.errors import WeightsError
from stfbench.hashing import sha256_file
from stfbench.safe_load import first_line as _first_line
from stfbench.safe_load import load_torch_file, same_file

#: Registry ids of the published Wav2Lip generator files (digests and sizes live in the weight registry).
PUBLISHED_IDS = ("wav2lip", "wav2lip_gan", "wav2lip_sd_gan", "wav2lip_sd_nogan")
#: Published files that are TorchScript archives rather than pickled checkpoints.
TORCHSCRIPT_IDS = frozenset({"wav2lip_sd_gan", "wav2lip_sd_nogan"})


def published_by_digest() -> dict[str, str]:
    """SHA-256 → registry id for the published generator files whose digest is known."""
    from stfbench.weights import entries

    return {e.sha256: e.id for e in entries().values() if e.id in PUBLISHED_IDS and e.sha256}


@dataclass
class LoadedWav2Lip:
    """A ready generator plus what identifies it. `channel_order` is the colour order the network expects
    (`bgr` for the public checkpoints, trained on OpenCV-read images; `rgb` for checkpoints made here)."""

    model: nn.Module
    sha256: str
    format: str
    known_id: str | None  # registry id when the digest is a published file's
    width_mult: float | None
    channel_order: str


def load_wav2lip(
    path: str | Path, device: torch.device | str = "cpu", allow_pickle: str | Path | None = None
) -> LoadedWav2Lip:
    """Load a Wav2Lip generator file of any supported format onto `device`, in eval mode. Only tensors are
    read (`weights_only`), unless `allow_pickle` names this file: then a legacy checkpoint that pickles
    Python objects is fully unpickled (the user vouches for it; recorded in provenance)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            "Wav2Lip checkpoint not found (download wav2lip.pth / wav2lip_gan.pth / Wav2Lip-SD-*.pt from the "
            "Wav2Lip README, or train one with `stfbench train --model wav2lip`)",
            path,
        )
    _reject_non_checkpoints(path)
    digest = sha256_file(path)
    known = published_by_digest().get(digest)
    fmt = "torchscript" if known in TORCHSCRIPT_IDS else _detect_format(path)
    if fmt == "torchscript":
        from stfbench.safe_torchscript import read_torchscript_tensors

        try:
            state, width_mult, channel_order = _unpack(read_torchscript_tensors(path), path)
            return _built(state, width_mult, channel_order, path, device, digest, fmt, known)
        except WeightsError as error:
            if known is None and not (allow_pickle is not None and same_file(path, Path(allow_pickle))):
                raise WeightsError(
                    f"TorchScript file whose tensors do not fit Wav2Lip ({str(error).removeprefix(f'{path}: ')}); "
                    "running it as a "
                    f"program needs --allow-pickle {path}",
                    path,
                ) from None
        try:  # a published file (digest checked) or one the user vouched for
            model = torch.jit.load(str(path), map_location=device)
        except (RuntimeError, ValueError) as error:
            raise WeightsError(f"not a loadable TorchScript Wav2Lip file ({_first_line(error)})", path) from None
        model.eval()
        return LoadedWav2Lip(model, digest, "torchscript-program", known, None, "bgr")
    checkpoint = load_torch_file(path, "Wav2Lip checkpoint", allow_pickle)
    state, width_mult, channel_order = _unpack(checkpoint, path)
    return _built(state, width_mult, channel_order, path, device, digest, fmt, known)


def _built(
    state: dict[str, torch.Tensor],
    width_mult: float,
    channel_order: str,
    path: Path,
    device: torch.device | str,
    digest: str,
    fmt: str,
    known: str | None,
) -> LoadedWav2Lip:
    """`Wav2Lip(width_mult)` with `state` loaded strictly, on `device`, in eval mode."""
    model = Wav2Lip(width_mult)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        reason = f"state dict does not match Wav2Lip(width_mult={width_mult:g}): {_first_line(error)}"
        raise WeightsError(reason, path) from None
    model.to(device).eval()
    return LoadedWav2Lip(model, digest, fmt, known, width_mult, channel_order)


def save_inference_checkpoint(model: Wav2Lip, path: str | Path, channel_order: str = "rgb", half: bool = True) -> Path:
    """Write an inference-only file: `{"state_dict", "width_mult", "channel_order"}` (fp16 by default), atomically."""
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    payload = {"state_dict": state, "width_mult": model.width_mult, "channel_order": channel_order}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def strip_module_prefix(state: dict[str, Any]) -> dict[str, Any]:
    """Remove the `module.` prefix DataParallel adds to every key."""
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in state.items()}


def _unpack(checkpoint: Any, path: Path) -> tuple[dict[str, torch.Tensor], float, str]:
    if not isinstance(checkpoint, dict):
        raise WeightsError(f"expected a state dict or a checkpoint dict, found {type(checkpoint).__name__}", path)
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, dict) or not state:
        raise WeightsError("checkpoint has no `state_dict`", path)
    state = {k: v.float() if v.is_floating_point() else v for k, v in strip_module_prefix(state).items()}
    first = state.get("face_encoder_blocks.0.0.conv_block.0.weight")
    if first is None:
        raise WeightsError(
            "not a Wav2Lip generator (no face_encoder_blocks.0.0.conv_block.0.weight; a SyncNet or "
            "discriminator checkpoint?)",
            path,
        )
    width_mult = float(checkpoint.get("width_mult", first.shape[0] / 16))
    return state, width_mult, str(checkpoint.get("channel_order", "bgr"))


def _detect_format(path: Path) -> str:
    """`torchscript` for a TorchScript archive (has `code/` and `constants.pkl`), else `state_dict`."""
    if not zipfile.is_zipfile(path):
        return "state_dict"  # legacy (pre-1.6) torch.save pickle
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return "state_dict"
    scripted = any("/code/" in name for name in names) and any(name.endswith("constants.pkl") for name in names)
    return "torchscript" if scripted else "state_dict"


def _reject_non_checkpoints(path: Path) -> None:
    """Recognise the broken copies that circulate: LFS pointers, HTML pages, known truncated uploads."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(b"version https://git-lfs"):
        raise WeightsError("this is a Git LFS pointer, not the weights (run `git lfs pull` or download again)", path)
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")):
        raise WeightsError("this is an HTML page (a download/login page saved as the file), not the weights", path)
    if size < 1024:
        raise WeightsError(f"file is only {size} bytes: not a Wav2Lip checkpoint", path)
    if size in (1_835_008, 1_048_576):
        raise WeightsError(f"file is {size} bytes: a known truncated upload; download the official file", path)
