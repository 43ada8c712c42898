"""Audio features: the Wav2Lip/SyncTalkFace mel spectrogram and syncnet_python MFCC (both at 16 kHz)."""

from stfbench.audio.mel import MEL_STEPS_PER_SECOND, MEL_WINDOW, mel_window_starts, mel_windows, melspectrogram
from stfbench.audio.mfcc import MFCC_STEPS_PER_SECOND, syncnet_mfcc, to_int16_values

__all__ = [
    "MEL_STEPS_PER_SECOND",
    "MEL_WINDOW",
    "MFCC_STEPS_PER_SECOND",
    "mel_window_starts",
    "mel_windows",
    "melspectrogram",
    "syncnet_mfcc",
    "to_int16_values",
]
