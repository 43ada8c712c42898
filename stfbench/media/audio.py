"""Audio decoding: any file FFmpeg reads (wav, flac, mp4, mkv, ...) → mono float32 at a fixed rate.

Rate policy: a file whose native sample rate differs from the requested one is an error unless
`resample=True` (never resampled silently). Channel down-mixing to mono is always done.

A stream that starts late keeps its offset (zero padding in front), up to `MAX_START_SECONDS`; a later
start is a decode error for the clip (a corrupt or hostile timestamp would otherwise allocate gigabytes).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stfbench.errors import DecodeError, NoAudioError, RateError

#: Longest allowed delay (seconds) of the first audio sample after the start of the file.
MAX_START_SECONDS = 10.0


def read_audio(path: str | Path, sample_rate: int = 16000, resample: bool = False) -> np.ndarray:
    """Decode the first audio stream of `path` → (N,) float32 mono in [-1, 1] at `sample_rate` Hz.

    Encoder padding (AAC priming and the last partial frame) is trimmed to the stream's duration.
    """
    path = Path(path)
    if not path.exists():
        from stfbench.media.video import missing_reason

        raise DecodeError(missing_reason(path), path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise DecodeError(f"cannot open audio ({_reason(error)})", path) from None
    with container:
        if not container.streams.audio:
            raise NoAudioError("no audio track", path)
        stream = container.streams.audio[0]
        native_rate = stream.codec_context.sample_rate or stream.rate
        if native_rate != sample_rate and not resample:
            raise RateError(
                f"audio is {native_rate} Hz, the protocol needs {sample_rate} Hz (pass --resample to convert)",
                path,
            )
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        first_pts_seconds: float | None = None
        try:
            for frame in container.decode(stream):
                if first_pts_seconds is None and frame.pts is not None and frame.time_base is not None:
                    first_pts_seconds = float(frame.pts * frame.time_base)
                    if first_pts_seconds > MAX_START_SECONDS:
                        raise DecodeError(
                            f"audio starts {first_pts_seconds:.6g} s into the file (more than "
                            f"{MAX_START_SECONDS:g} s allowed): corrupt timestamps or a mismatched track",
                            path,
                        )
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray()[0])
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray()[0])
        except av.error.FFmpegError as error:
            raise DecodeError(f"corrupt audio stream ({_reason(error)})", path) from None
        samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        expected = _expected_samples(stream, container, sample_rate)
    # Streams that start late (positive first pts) keep their offset relative to the video.
    if first_pts_seconds and first_pts_seconds > 0:
        samples = np.concatenate([np.zeros(round(first_pts_seconds * sample_rate), np.float32), samples])
    if expected is not None and 0 < expected < len(samples):
        samples = samples[:expected]
    if samples.size == 0:
        raise NoAudioError("audio track is empty", path)
    return samples


def _expected_samples(stream: av.audio.stream.AudioStream, container, sample_rate: int) -> int | None:
    """Samples implied by the stream (or container) duration; None when the file does not say."""
    if stream.duration is not None and stream.time_base is not None:
        seconds = Fraction(stream.duration) * stream.time_base
    elif container.duration is not None:
        seconds = Fraction(container.duration, av.time_base)
    else:
        return None
    return round(seconds * sample_rate)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
