"""Video decoding and encoding with PyAV (its bundled FFmpeg; no system ffmpeg needed).

Frame-rate policy: a clip whose fps differs from the requested one is an error unless `resample=True`,
which retimes it by nearest-frame selection (frame i of the output = input frame at time i / fps).
Image folders (`0001.png`, `0002.jpg`, ...) are read in natural name order at the requested fps; a single
image file is a one-frame clip.

Size limit: a clip whose decoded frames would exceed `MAX_DECODED_PIXELS` (frames × height × width, default
2**30 ≈ 3.2 GB of RGB; environment variable `STFBENCH_MAX_DECODED_PIXELS` overrides it) fails with
`TooLargeError` before its frames are allocated (from the header: image sizes, a video's declared frame
count), or as soon as decoding passes the limit when a header understates it. Pillow's own
decompression-bomb check fails the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from stfbench.errors import DecodeError, NoAudioError, RateError, TooLargeError
from stfbench.media.audio import _reason, read_audio
from stfbench.media.clip import Clip

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
AUDIO_IN_FOLDER = ("audio.wav", "audio.flac", "audio.mp3")
# x264's lookahead/MB-tree presets (veryfast and slower) gave an occasional different file for the same frames
# (about 1 in 100 encodes under load); superfast (no MB-tree, no rc-lookahead; keeps CABAC and B-frames) gave
# none in hundreds of repeated encodes.
X264_PRESET = "superfast"
#: Most pixels (frames × height × width) one clip may decode to; `STFBENCH_MAX_DECODED_PIXELS` overrides it.
MAX_DECODED_PIXELS = 2**30


def max_decoded_pixels() -> int:
    """The decoded-size limit in force (the environment variable, else `MAX_DECODED_PIXELS`)."""
    text = os.environ.get("STFBENCH_MAX_DECODED_PIXELS", "").strip()
    if not text:
        return MAX_DECODED_PIXELS
    try:
        return int(float(text))
    except ValueError:
        raise DecodeError(f"STFBENCH_MAX_DECODED_PIXELS={text}: expected a number of pixels") from None


def _check_size(frames: int, height: int, width: int, path: Path, how: str) -> None:
    limit = max_decoded_pixels()
    if frames * height * width > limit:
        raise TooLargeError(
            f"{how} {frames} frames of {width}x{height} = {frames * height * width:.3g} pixels, over the "
            f"decoded-size limit {limit:.3g} (STFBENCH_MAX_DECODED_PIXELS)",
            path,
        )


def missing_reason(path: Path, default: str = "file not found") -> str:
    """Why `path` cannot be opened although named: a symlink loop, a broken symbolic link, or `default`."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:  # Python < 3.13 reports a loop this way
            return "symbolic link loop"
        except OSError as error:
            return "symbolic link loop" if error.errno == errno.ELOOP else "broken symbolic link"
    return default


@dataclass(frozen=True)
class VideoInfo:
    """What a video file declares: frame count (may be estimated), fps, size, and whether it has audio."""

    num_frames: int
    fps: float
    width: int
    height: int
    has_audio: bool
    audio_rate: int | None


def probe_video(path: str | Path) -> VideoInfo:
    """Read a video's header without decoding frames."""
    path = Path(path)
    container = _open(path)
    with container:
        if not container.streams.video:
            raise DecodeError("no video stream", path)
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        seconds = _stream_seconds(stream)
        if seconds is None and container.duration is not None:
            seconds = container.duration / av.time_base
        frames = stream.frames or round((seconds or 0.0) * fps)
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            num_frames=int(frames),
            fps=fps,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            has_audio=audio is not None,
            audio_rate=None if audio is None else audio.codec_context.sample_rate,
        )


def _stream_seconds(stream) -> float | None:
    """A stream's own duration: its header, else Matroska's per-stream DURATION tag (MKV streams carry
    no frame count or duration of their own; the tag is the stream's end time, so its start is subtracted);
    None when the stream does not say."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration") or ""
    if re.fullmatch(r"\d+:\d{2}:\d{2}(\.\d+)?", tag):
        hours, minutes, seconds = tag.split(":")
        start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
        return max(0.0, int(hours) * 3600 + int(minutes) * 60 + float(seconds) - start)
    return None


def iter_video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Stream the frames of a video file as (H, W, 3) uint8 RGB arrays (constant memory)."""
    path = Path(path)
    container = _open(path)
    with container:
        if not container.streams.video:
            raise DecodeError("no video stream", path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as error:
            raise DecodeError(f"corrupt video stream ({_reason(error)})", path) from None


def read_clip(
    path: str | Path,
    audio_path: str | Path | None = None,
    *,
    fps: float = 25.0,
    sample_rate: int = 16000,
    resample: bool = False,
    require_audio: bool = True,
) -> Clip:
    """Decode a clip (mp4/avi/mkv file or image folder) → `Clip` with uint8 RGB frames (T, H, W, 3).

    Audio comes from `audio_path` when given (overriding the clip's own track), else from the file's
    first audio stream (for a folder: `audio.wav`/`.flac`/`.mp3` inside it). Without audio, raises
    `NoAudioError` unless `require_audio=False` (then audio is empty).
    """
    path = Path(path)
    if path.is_dir():
        frames, native_fps = _read_image_folder(path), float(fps)
        own_audio = next((path / name for name in AUDIO_IN_FOLDER if (path / name).exists()), None)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        frames, native_fps, own_audio = _read_images([path], path), float(fps), None
    else:
        frames, native_fps = _read_video_frames(path)
        own_audio = path
    if abs(native_fps - fps) > 1e-3:
        if not resample:
            raise RateError(f"video is {native_fps:g} fps, the protocol needs {fps:g} fps (pass --resample)", path)
        frames = _retime(frames, native_fps, fps)
    source = Path(audio_path) if audio_path is not None else own_audio
    if source is None:
        if require_audio:
            raise NoAudioError("image folder has no audio.wav and no separate audio was given", path)
        audio = np.zeros(0, np.float32)
    else:
        try:
            audio = read_audio(source, sample_rate=sample_rate, resample=resample)
        except NoAudioError:
            if require_audio:
                raise
            audio = np.zeros(0, np.float32)
    return Clip(frames=frames, audio=audio, fps=float(fps), sample_rate=sample_rate, path=path)


def write_clip(
    path: str | Path,
    frames: np.ndarray,
    audio: np.ndarray | None,
    fps: float = 25.0,
    sample_rate: int = 16000,
    *,
    crf: int = 18,
) -> Path:
    """Write frames (T, H, W, 3) uint8 RGB and mono float32 audio to `path`; the same inputs give the same bytes.

    `.mp4` → H.264 (yuv420p, `crf`, x264 preset superfast; H and W even) + AAC; `.mkv` → lossless FFV1 (RGB,
    bgr0, decoded bit-exactly) + FLAC; `.avi` → MPEG-4 part 2 + PCM. Reproducibility: every codec runs
    single-threaded, RGB → YUV is done by `rgb_to_yuv420p` (not swscale), and x264's lookahead/MB-tree presets,
    which occasionally gave a different file for the same frames, are avoided. The file is written to a
    temporary name and renamed, so a crash never leaves a half-written clip under the final name.
    """
    path = Path(path)
    frames = np.ascontiguousarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    suffix = path.suffix.lower()
    codecs = {".mp4": ("libx264", "aac"), ".mkv": ("ffv1", "flac"), ".avi": ("mpeg4", "pcm_s16le")}
    if suffix not in codecs:
        raise ValueError(f"{path}: unsupported container {suffix!r} (use .mp4, .mkv or .avi)")
    height, width = frames.shape[1:3]
    if suffix == ".mp4" and (height % 2 or width % 2):
        raise ValueError(f"{path}: H.264 yuv420p needs even frame sizes, got {width}x{height}")
    video_codec, audio_codec = codecs[suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    try:
        # Matroska writes a random segment UID and the muxing date unless told to be bit-exact.
        mkv = {"format": "matroska", "options": {"fflags": "+bitexact"}} if suffix == ".mkv" else {}
        with av.open(str(tmp), mode="w", **mkv) as container:
            container.metadata.clear()
            vstream = container.add_stream(video_codec, rate=rate)
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = "bgr0" if video_codec == "ffv1" else "yuv420p"
            if video_codec == "libx264":
                vstream.options = {"crf": str(crf), "preset": X264_PRESET, "threads": "1"}
            elif video_codec == "mpeg4":
                vstream.options = {"qscale": "2"}
                vstream.codec_context.qscale = 2
            streams = [vstream]
            if audio is not None and len(audio):
                astream = container.add_stream(audio_codec, rate=sample_rate)
                astream.layout = "mono"
                streams.append(astream)
            for stream in streams:
                stream.codec_context.thread_count = 1
                stream.codec_context.thread_type = "NONE"
            if video_codec == "libx264":
                video_frames = (av.VideoFrame.from_ndarray(image, format="yuv420p") for image in rgb_to_yuv420p(frames))
            else:
                video_frames = (av.VideoFrame.from_ndarray(image, format="rgb24") for image in frames)
            for frame in video_frames:
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode(None))
            if len(streams) > 1:
                _encode_audio(container, streams[1], np.asarray(audio, np.float32), sample_rate)
        tmp.replace(path)
    finally:  # a failed write (disk full, ...) leaves no partial file behind
        tmp.unlink(missing_ok=True)
    return path


def rgb_to_yuv420p(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB (H, W even) → (T, 3H/2, W) uint8 planar I420 (Y plane, then U and V quarter
    planes), BT.601 limited range in 8-bit fixed point: Y = (66 R + 129 G + 25 B + 128) / 256 + 16, etc.;
    chroma from the sum of each 2×2 block. The convention decoders assume for untagged SD video."""
    count, height, width, _ = frames.shape
    rgb = frames.astype(np.int32)  # (T, H, W, 3)
    y = (rgb @ np.array([66, 129, 25], np.int32) + 128 >> 8) + 16  # (T, H, W)
    blocks = rgb.reshape(count, height // 2, 2, width // 2, 2, 3).sum(axis=(2, 4))  # (T, H/2, W/2, 3) 4× mean
    u = (blocks @ np.array([-38, -74, 112], np.int32) + 512 >> 10) + 128  # (T, H/2, W/2)
    v = (blocks @ np.array([112, -94, -18], np.int32) + 512 >> 10) + 128
    planes = [plane.reshape(count, -1) for plane in (y, u, v)]
    return np.concatenate(planes, axis=1).clip(0, 255).astype(np.uint8).reshape(count, height * 3 // 2, width)


def _encode_audio(container, stream, audio: np.ndarray, sample_rate: int) -> None:
    samples = np.clip(audio, -1.0, 1.0)
    if stream.codec_context.name == "pcm_s16le" or stream.codec_context.name == "flac":
        data, fmt = (samples * 32767.0).round().astype(np.int16)[None, :], "s16"
    else:
        data, fmt = samples[None, :], "fltp"
    frame_size = stream.codec_context.frame_size or 1024
    for start in range(0, data.shape[1], frame_size):
        chunk = np.ascontiguousarray(data[:, start : start + frame_size])
        frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _open(path: Path):
    if not path.exists():
        raise DecodeError(missing_reason(path), path)
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise DecodeError(f"cannot open video ({_reason(error)})", path) from None


def _read_video_frames(path: Path) -> tuple[np.ndarray, float]:
    info = probe_video(path)
    declared = info.num_frames
    _check_size(declared, info.height, info.width, path, "declares")
    buffer: np.ndarray | None = None  # allocated once for the declared count: decoding never holds two copies
    extra: list[np.ndarray] = []  # frames beyond the declared count (a header may understate it)
    count = 0
    for frame in iter_video_frames(path):
        if buffer is None:  # the frames' real size may differ from the header's
            _check_size(declared, frame.shape[0], frame.shape[1], path, "declares")
            buffer = np.empty((max(declared, 1), *frame.shape), np.uint8)
        if frame.shape != buffer.shape[1:]:
            raise DecodeError(f"frame size changes from {buffer.shape[2]}x{buffer.shape[1]} at frame {count}", path)
        count += 1
        if count <= len(buffer):
            buffer[count - 1] = frame
        else:
            _check_size(count, frame.shape[0], frame.shape[1], path, "decodes to at least")
            extra.append(frame)
    if buffer is None:
        raise DecodeError("video has no decodable frames", path)
    # A truncated file decodes without an error but yields fewer frames than its header declares
    # (one frame of slack for duration rounding).
    if declared and count < declared - 1:
        raise DecodeError(f"truncated or corrupt: decoded {count} of {declared} frames", path)
    frames = np.concatenate([buffer, np.stack(extra)]) if extra else buffer[:count]
    return frames, info.fps


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _read_image_folder(path: Path) -> np.ndarray:
    files = sorted(
        (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: _natural_key(p.name)
    )
    if not files:
        raise DecodeError("folder has no image frames", path)
    return _read_images(files, path)


def _read_images(files: list[Path], where: Path) -> np.ndarray:
    """Decode image files of one size → (T, H, W, 3) uint8; sizes are checked from the headers first."""
    sizes = [_image_size(file) for file in files]
    if len(set(sizes)) != 1:
        raise DecodeError("frames in the folder differ in size", where)
    width, height = sizes[0]
    _check_size(len(files), height, width, where, "holds")
    frames = np.empty((len(files), height, width, 3), np.uint8)
    for index, file in enumerate(files):
        with _image_errors(file), Image.open(file) as image:
            frames[index] = np.asarray(image.convert("RGB"))
    return frames


def _image_size(file: Path) -> tuple[int, int]:
    if not file.exists():
        raise DecodeError(missing_reason(file), file)
    with _image_errors(file), Image.open(file) as image:
        return image.size


@contextlib.contextmanager
def _image_errors(file: Path) -> Iterator[None]:
    """Pillow's errors on one frame → this clip's DecodeError / TooLargeError."""
    try:
        yield
    except Image.DecompressionBombError as error:
        raise TooLargeError(f"image too large ({_reason(error)})", file) from None
    except (OSError, ValueError, SyntaxError) as error:  # Pillow raises SyntaxError for some corrupt headers
        raise DecodeError(f"unreadable frame ({_reason(error)})", file) from None


def _retime(frames: np.ndarray, source_fps: float, target_fps: float) -> np.ndarray:
    """Nearest-frame retiming: output frame i shows the input frame displayed at time i / target_fps."""
    count = int(np.floor(len(frames) * target_fps / source_fps + 1e-9))
    index = np.minimum(np.floor(np.arange(count) * source_fps / target_fps + 1e-9).astype(int), len(frames) - 1)
    return frames[index]
