"""Re-encoded variants of a clip for the metric-stability audit (`stfbench audit`): common codecs, a resize and a
one-frame audio shift, each applied to the lossless clip with PyAV's bundled FFmpeg (no system ffmpeg).

A video variant changes the frames and keeps the audio samples; an audio variant changes the audio and keeps the
frames. Encoded variants are written to a temporary file and decoded back with `stfbench.media` (the decoder every
command uses). Video: yuv420p (`rgb_to_yuv420p`, as `write_clip`), one encoder thread, in MP4. Audio: mono at
the clip's rate, in MP4 (its edit list removes the encoder delay: decoded audio starts at sample 0 and has the
input's length).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from stfbench.errors import StfbenchError

#: Audio shift of the `shift±1` variants: one video frame of audio (640 samples at 16 kHz and 25 fps).
SHIFT_FRAMES = 1
#: The short side of the `resize96` variant's intermediate frame (the face-crop size of 96-px models).
RESIZE_SIDE = 96


@dataclass(frozen=True)
class Variant:
    """One degradation. `kind`: `video` (frames change, audio kept), `audio` (audio changes, frames kept) or
    `none` (the lossless reference). `codec` is the PyAV encoder (None: no encoder); `options` its settings."""

    name: str
    kind: str
    description: str
    codec: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    bit_rate: int | None = None

    def settings(self) -> dict[str, object]:
        """What the summary records of the variant."""
        return {
            "kind": self.kind,
            "description": self.description,
            "codec": self.codec,
            "options": dict(self.options),
            "bit_rate": self.bit_rate,
        }


X265_LOG = "pools=none:frame-threads=1:log-level=error"
#: Every variant, in table order; `lossless` is the reference the others are compared with.
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("lossless", "none", "the decoded ground truth itself (reference)"),
        Variant("h264-crf18", "video", "H.264 (libx264) CRF 18, preset superfast", "libx264",
                {"crf": "18", "preset": "superfast", "threads": "1"}),
        Variant("h264-crf28", "video", "H.264 (libx264) CRF 28, preset superfast", "libx264",
                {"crf": "28", "preset": "superfast", "threads": "1"}),
        Variant("h265-crf28", "video", "H.265 (libx265) CRF 28 (x265's default), preset superfast", "libx265",
                {"crf": "28", "preset": "superfast", "x265-params": X265_LOG}),
        Variant("mpeg4", "video", "MPEG-4 part 2 (mpeg4) at 200 kb/s (FFmpeg's default rate)", "mpeg4",
                bit_rate=200_000),
        Variant("resize96", "video", f"short side down to {RESIZE_SIDE} px (area) and back up (bilinear), no codec"),
        Variant("aac64", "audio", "AAC (FFmpeg aac) 64 kb/s", "aac", bit_rate=64_000),
        Variant("mp3-64", "audio", "MP3 (libmp3lame) 64 kb/s", "libmp3lame", bit_rate=64_000),
        Variant("shift+1", "audio", f"audio delayed by {SHIFT_FRAMES} frame (zeros in front, end trimmed)"),
        Variant("shift-1", "audio", f"audio advanced by {SHIFT_FRAMES} frame (start dropped, zeros at the end)"),
    )
}  # fmt: skip


class EncoderMissingError(StfbenchError):
    """PyAV's FFmpeg has no encoder for a chosen variant."""

    status = "missing-encoder"


def parse_variants(text: str | None) -> list[Variant]:
    """`"h264-crf18,aac64"` (or None: all) → the variants in table order, `lossless` always first; unknown names and
    variants whose encoder PyAV lacks are refused with one line."""
    if text is None:
        chosen = list(VARIANTS)
    else:
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in VARIANTS]
        if unknown or not chosen:
            given = ", ".join(unknown) or "(none given)"
            raise StfbenchError(f"--variants: unknown {given} (choose {', '.join(VARIANTS)})")
    variants = [VARIANTS[name] for name in VARIANTS if name in chosen or name == "lossless"]
    for variant in variants:
        check_encoder(variant)
    return variants


def check_encoder(variant: Variant) -> None:
    """Raise `EncoderMissingError` naming the encoder when PyAV's FFmpeg was built without it."""
    if variant.codec is None:
        return
    import av

    try:
        av.codec.Codec(variant.codec, "w")
    except Exception:
        raise EncoderMissingError(
            f"variant {variant.name}: PyAV's FFmpeg ({av.ffmpeg_version_info}) has no {variant.codec} encoder "
            "(choose other --variants)"
        ) from None


def encoder_versions() -> dict[str, object]:
    """PyAV and its FFmpeg libraries' versions (what the variants depend on)."""
    import av

    return {
        "pyav": av.__version__,
        "ffmpeg": av.ffmpeg_version_info,
        "libraries": {name: ".".join(map(str, version)) for name, version in av.library_versions.items()},
    }


def apply(variant: Variant, frames: np.ndarray, audio: np.ndarray, fps: float, sample_rate: int):
    """(frames (T, H, W, 3) uint8, audio (N,) float32) of the variant; same shapes as the inputs."""
    if variant.kind == "none":
        return frames, audio
    if variant.name == "resize96":
        return resize_down_up(frames, RESIZE_SIDE), audio
    if variant.name.startswith("shift"):
        frames_shift = SHIFT_FRAMES if variant.name.startswith("shift+") else -SHIFT_FRAMES
        return frames, shift_audio(audio, round(frames_shift * sample_rate / fps))
    if variant.kind == "video":
        return encode_video(frames, fps, variant), audio
    return frames, encode_audio(audio, sample_rate, variant)


def shift_audio(audio: np.ndarray, samples: int) -> np.ndarray:
    """`audio` moved by `samples` (> 0: later, zeros in front; < 0: earlier, zeros at the end), same length."""
    out = np.zeros_like(audio)
    if samples >= 0:
        out[samples:] = audio[: len(audio) - samples]
    else:
        out[: len(audio) + samples] = audio[-samples:]
    return out


def resize_down_up(frames: np.ndarray, side: int) -> np.ndarray:
    """Each frame resized so its short side is `side` px (OpenCV INTER_AREA) and back (INTER_LINEAR)."""
    import cv2

    height, width = frames.shape[1:3]
    scale = side / min(height, width)
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    out = np.empty_like(frames)
    for index, frame in enumerate(frames):
        down = cv2.resize(frame, small, interpolation=cv2.INTER_AREA)
        out[index] = cv2.resize(down, (width, height), interpolation=cv2.INTER_LINEAR)
    return out


def encode_video(frames: np.ndarray, fps: float, variant: Variant) -> np.ndarray:
    """Frames encoded with the variant's codec in MP4 (yuv420p) and decoded back → (T, H, W, 3) uint8."""
    import av

    from stfbench.media import read_clip
    from stfbench.media.video import rgb_to_yuv420p

    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise StfbenchError(f"variant {variant.name}: yuv420p needs even frame sizes, got {width}x{height}")
    with tempfile.TemporaryDirectory(prefix="stfbench-audit-") as folder:
        path = Path(folder) / f"{variant.name}.mp4"
        with av.open(str(path), mode="w") as container:
            container.metadata.clear()
            stream = container.add_stream(variant.codec, rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = dict(variant.options)
            if variant.bit_rate:
                stream.bit_rate = variant.bit_rate
            stream.codec_context.thread_count = 1
            stream.codec_context.thread_type = "NONE"
            for image in rgb_to_yuv420p(frames):  # (3H/2, W) planar I420
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="yuv420p")))
            container.mux(stream.encode(None))
        decoded = read_clip(path, fps=fps, require_audio=False).frames
    if decoded.shape != frames.shape:
        raise StfbenchError(f"variant {variant.name}: decoded {decoded.shape}, encoded {frames.shape}")
    return decoded


def encode_audio(audio: np.ndarray, sample_rate: int, variant: Variant) -> np.ndarray:
    """Mono audio encoded with the variant's codec in MP4 and decoded back → (N,) float32, padded with zeros or
    trimmed to the input's length (the MP4 edit list already removes the encoder delay and padding)."""
    import av

    from stfbench.media import read_audio
    from stfbench.media.video import _encode_audio

    with tempfile.TemporaryDirectory(prefix="stfbench-audit-") as folder:
        path = Path(folder) / f"{variant.name}.mp4"
        with av.open(str(path), mode="w") as container:
            container.metadata.clear()
            stream = container.add_stream(variant.codec, rate=sample_rate)
            stream.layout = "mono"
            stream.bit_rate = variant.bit_rate
            stream.codec_context.thread_count = 1
            _encode_audio(container, stream, np.asarray(audio, np.float32), sample_rate)
        decoded = read_audio(path, sample_rate)
    out = np.zeros(len(audio), np.float32)
    out[: min(len(audio), len(decoded))] = decoded[: len(audio)]
    return out
