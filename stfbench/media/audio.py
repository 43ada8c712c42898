"""Audio decoding: any file FFmpeg reads (wav, flac, mp4, mkv, ...) → mono float32 at a fixed rate.

Rate policy: a file whose native sample rate differs from the requested one is an error unless
`resample=True` (never resampled silently). Channel down-mixing to mono is always done.

Audio is aligned to the file's video: a stream that starts after the video stream (or, in an audio-only
file, after time 0) keeps that offset as zero padding in front, up to `MAX_START_SECONDS`; a later start is
a decode error for the clip (a corrupt or hostile timestamp would otherwise allocate gigabytes of padding).
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
        offset: float | None = None  # seconds from the video's start (or the file's) to the first sample
        if container.streams.video:
            origin = _start_seconds(container.streams.video[0])
        elif container.format.name == "mp3":  # FFmpeg declares the encoder delay as the start time and drops it
            origin = _start_seconds(stream)
        else:
            origin = 0.0
        try:
            for frame in container.decode(stream):
                if offset is None and frame.pts is not None and frame.time_base is not None:
                    offset = float(frame.pts * frame.time_base) - origin
                    if offset > MAX_START_SECONDS:
                        since = "after the video starts" if container.streams.video else "into the file"
                        raise DecodeError(
                            f"audio starts {offset:.6g} s {since} (more than {MAX_START_SECONDS:g} s "
                            "allowed): corrupt timestamps or a mismatched track",
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
    if expected is not None and 0 < expected < len(samples):  # the stream's own length, before padding
        samples = samples[:expected]
    if offset and offset > 0:  # a stream that starts late keeps its offset relative to the video
        samples = np.concatenate([np.zeros(round(offset * sample_rate), np.float32), samples])
    if samples.size == 0:
        raise NoAudioError("audio track is empty", path)
    return samples


def _start_seconds(stream) -> float:
    """A stream's declared start time in seconds (0 when it does not say)."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


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
