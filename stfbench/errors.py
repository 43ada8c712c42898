"""User-facing errors.

Every error a user can cause (bad file, missing weights, malformed list, ...) is a `StfbenchError`
whose message is one line naming the file or option and the reason. The CLI prints that line and exits
non-zero; batch jobs record `status` per clip instead of stopping.
"""

from __future__ import annotations

from pathlib import Path


class StfbenchError(Exception):
    """A user error: one line that names the file/option and the reason."""

    status = "error"

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class DecodeError(StfbenchError):
    """The file is missing, corrupt, truncated or not a readable video/audio file."""

    status = "decode-error"


class TooLargeError(StfbenchError):
    """The decoded clip would exceed the decoded-size limit (or Pillow's decompression-bomb limit)."""

    status = "too-large"


class NoAudioError(StfbenchError):
    """The clip has no audio track and no separate audio was given."""

    status = "no-audio"


class RateError(StfbenchError):
    """Frame rate or sample rate differs from the protocol's and resampling was not requested."""

    status = "wrong-rate"


class TooShortError(StfbenchError):
    """The clip is shorter than the minimum the operation needs."""

    status = "too-short"


class NoFaceError(StfbenchError):
    """No face was found where one is required."""

    status = "no-face"


class WeightsError(StfbenchError):
    """A weight file is missing, has the wrong hash, or has the wrong layout."""

    status = "missing-weights"


class ProtocolError(StfbenchError):
    """A protocol file, clip list or pairs file is malformed or does not match its pinned hash."""

    status = "protocol-error"


class ModelError(StfbenchError):
    """A model adapter failed on a clip."""

    status = "model-error"


class MetricError(StfbenchError):
    """A metric crashed on one clip (recorded with the exception's type and message)."""

    status = "metric-error"
