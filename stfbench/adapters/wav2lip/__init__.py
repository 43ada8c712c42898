"""Wav2Lip baseline: 96×96 generator with the public layout, checkpoint loaders, and the runner adapter."""

from stfbench.adapters.wav2lip.adapter import Wav2LipAdapter, inference_mel_windows
from stfbench.adapters.wav2lip.checkpoint import LoadedWav2Lip, load_wav2lip, save_inference_checkpoint
from stfbench.adapters.wav2lip.model import Wav2Lip

__all__ = [
    "LoadedWav2Lip",
    "Wav2Lip",
    "Wav2LipAdapter",
    "inference_mel_windows",
    "load_wav2lip",
    "save_inference_checkpoint",
]
