"""Synthetic corpus speed and face-quality figures.

    .venv/bin/python benchmarks/bench_synth.py [--speakers 20] [--clips 10] [--duration 3] [--workers 2]
                                               [--floor-clips 20]

Generates speakers × clips lrs2-layout clips (default 200 × 3 s) into a temporary folder and prints the wall
time, clips/s and CPU time (target: 200 × 3 s in ≤ 120 s on 2 CPU cores; on a shared machine the
CPU time / workers is the idle-machine figure), then decodes `--floor-clips` of them (spread
over all speakers) and prints dlib's face detection rate (target ≥ 95 %) and mean mouth-landmark error
against the ground truth in units of the outer-eye-corner distance (target ≤ 5 %).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from stfbench.media import read_clip
from stfbench.synth import generate_corpus, load_ground_truth
from stfbench.synth.landmarker import measure_landmark_floor


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the worker pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floor-clips", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        started = time.perf_counter()
        cpu_before = _cpu_seconds()
        info = generate_corpus(
            root,
            speakers=args.speakers,
            clips=args.clips,
            seed=args.seed,
            duration_s=args.duration,
            workers=args.workers,
        )
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        print(
            f"generated {info.clips} clips × {args.duration:g} s with {args.workers} workers in {seconds:.1f} s wall "
            f"({info.clips / seconds:.2f} clips/s, {info.clips * args.duration * 25 / seconds:.0f} frames/s); "
            f"{cpu:.1f} CPU-s ({1000 * cpu / (info.clips * args.duration * 25):.1f} ms per frame) → "
            f"{cpu / args.workers:.1f} s on {args.workers} otherwise idle cores"
        )
        videos = sorted(root.glob("main/*/*.mp4"))
        chosen = [videos[i] for i in np.linspace(0, len(videos) - 1, min(args.floor_clips, len(videos))).astype(int)]
        frames = detected = 0
        weighted_error = 0.0
        for video in chosen:
            report = measure_landmark_floor(read_clip(video).frames, load_ground_truth(video).landmarks)
            frames += report.frames
            detected += report.detected
            weighted_error += report.mouth_error * report.detected
        print(
            f"dlib on {frames} decoded frames of {len(chosen)} clips: detection rate {detected / frames:.2%}, "
            f"mouth error {weighted_error / max(detected, 1):.2%} of the outer-eye distance"
        )


if __name__ == "__main__":
    main()
