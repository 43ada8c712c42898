"""Byte-reproducible MP4 writing (H.264 yuv420p + AAC) for the corpus.

`stfbench.media.write_clip(..., threads=1)` is not byte-reproducible here (PyAV 18 / FFmpeg 8 / x264 164):
the same frames encoded repeatedly in one process gave 2–3 different files. Three causes were measured and
removed: (1) the codec context opens with `thread_count=0` and slice threading → both codec contexts are
opened with `thread_count=1` and no threading; (2) PyAV's RGB → YUV conversion (swscale) → done here in
NumPy fixed point (BT.601 limited range, the convention decoders assume for untagged SD video; 4:2:0 chroma
from each 2×2 block); (3) x264's lookahead/MB-tree presets → see `PRESET`. The output is then a pure
function of the inputs (tests/test_synth_determinism.py). Written to a temporary name and renamed.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CRF = 18
# x264's lookahead/MB-tree presets (veryfast and slower) gave an occasional different file for the same frames
# (1 in ~100 encodes under load, measured); superfast (no MB-tree, no rc-lookahead) and ultrafast gave none in
# hundreds of repeated encodes. superfast keeps CABAC and B-frames.
PRESET = "superfast"


def rgb_to_yuv420p(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB (H, W even) → (T, 3H/2, W) uint8 planar I420 (Y plane, then U and V quarter
    planes), BT.601 limited range in 8-bit fixed point: Y = (66 R + 129 G + 25 B + 128) / 256 + 16, etc."""
    count, height, width, _ = frames.shape
    rgb = frames.astype(np.int32)  # (T, H, W, 3)
    y = (rgb @ np.array([66, 129, 25], np.int32) + 128 >> 8) + 16  # (T, H, W)
    blocks = rgb.reshape(count, height // 2, 2, width // 2, 2, 3).sum(axis=(2, 4))  # (T, H/2, W/2, 3) 4× mean
    u = (blocks @ np.array([-38, -74, 112], np.int32) + 512 >> 10) + 128  # (T, H/2, W/2)
    v = (blocks @ np.array([112, -94, -18], np.int32) + 512 >> 10) + 128
    planes = [plane.reshape(count, -1) for plane in (y, u, v)]
    return np.concatenate(planes, axis=1).clip(0, 255).astype(np.uint8).reshape(count, height * 3 // 2, width)


def write_mp4(path: Path, frames: np.ndarray, audio: np.ndarray, fps: int, sample_rate: int) -> Path:
    """Write frames (T, H, W, 3) uint8 RGB (H, W even) and audio (N,) float32 in [−1, 1] to `path` (.mp4)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.mp4")
    height, width = frames.shape[1:3]
    with av.open(str(tmp), mode="w") as container:
        container.metadata.clear()
        video = container.add_stream("libx264", rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(CRF), "preset": PRESET, "threads": "1"}
        sound = container.add_stream("aac", rate=sample_rate)
        sound.layout = "mono"
        for stream in (video, sound):
            stream.codec_context.thread_count = 1
            stream.codec_context.thread_type = "NONE"
        for image in rgb_to_yuv420p(frames):
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="yuv420p")))
        container.mux(video.encode(None))
        samples = np.clip(audio, -1.0, 1.0).astype(np.float32)[None, :]  # (1, N) planar
        frame_size = sound.codec_context.frame_size or 1024
        for start in range(0, samples.shape[1], frame_size):
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + frame_size]), format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts, chunk.time_base = sample_rate, start, Fraction(1, sample_rate)
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
    tmp.replace(path)
    return path
