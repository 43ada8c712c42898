"""Byte-reproducible MP4 writing (H.264 yuv420p + AAC) for the corpus.

`stfbench.media.write_clip(..., threads=1)` is not byte-reproducible here (PyAV 18 / FFmpeg 8): the same
frames encoded repeatedly in one process gave 2–3 different files. Two causes were measured: the codec
context opens with `thread_count=0` and slice threading, and the RGB → YUV conversion inside PyAV
(swscale) is not reproducible either. So the conversion is done here in NumPy (BT.601 limited range, the
convention decoders assume for untagged SD video; 4:2:0 chroma = mean of each 2×2 block) and both codec
contexts are opened with `thread_count=1` and no threading. The output is then a pure function of the inputs
(checked by tests/test_synth_determinism.py). Written to a temporary name and renamed.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CRF = 18
PRESET = "medium"


def rgb_to_yuv420p(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB (H, W even) → (3H/2, W) uint8 planar I420: Y plane, then U and V quarter planes."""
    rgb = image.astype(np.float32)
    y = 16.0 + rgb @ np.array([65.481, 128.553, 24.966], np.float32) / 255.0  # (H, W)
    height, width = y.shape
    blocks = rgb.reshape(height // 2, 2, width // 2, 2, 3).mean(axis=(1, 3))  # (H/2, W/2, 3)
    u = 128.0 + blocks @ np.array([-37.797, -74.203, 112.0], np.float32) / 255.0
    v = 128.0 + blocks @ np.array([112.0, -93.786, -18.214], np.float32) / 255.0
    planes = [np.round(p).clip(0, 255).astype(np.uint8) for p in (y, u, v)]
    return np.concatenate([planes[0], planes[1].reshape(height // 4, width), planes[2].reshape(height // 4, width)])


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
        for image in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb_to_yuv420p(image), format="yuv420p")))
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
