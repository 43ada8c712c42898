"""FID memory: peak RSS of streaming FID statistics for N and 10·N frames (each run in its own process).

The features come from pytorch-fid's InceptionV3 architecture with seeded random weights (memory and
timing only; the number printed is not a FID). Statistics are float64 sums, so peak RSS should grow by
< 10 % when the number of frames grows 10×.

    python benchmarks/bench_fid_memory.py --frames 100
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def run_once(frames: int, weights: Path, clip_frames: int) -> dict:
    from stfbench.metrics import ScoringSample
    from stfbench.metrics.fid import FID
    from stfbench.metrics.networks.inception import inception_features, load_fid_inception

    torch.set_num_threads(2)
    model = load_fid_inception(weights)
    metric = FID(lambda x: inception_features(model, x, torch.device("cpu"), 50))
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for start in range(0, frames, clip_frames):
        crops = rng.integers(0, 256, (min(clip_frames, frames - start), 96, 96, 3), dtype=np.uint8)
        metric.update(ScoringSample(str(start), crops, crops[::-1].copy()))
    metric.compute()
    return {"frames": frames, "seconds": time.perf_counter() - started,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100, help="frames of the small run (the large run has 10x)")
    parser.add_argument("--clip-frames", type=int, default=50)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(int(args.child[0]), Path(args.child[1]), args.clip_frames)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "random_inception.pth"
        torch.manual_seed(0)
        torch.save(_random_state(), weights)
        results = []
        for frames in (args.frames, 10 * args.frames):
            command = [
                sys.executable,
                __file__,
                "--child",
                str(frames),
                str(weights),
                "--clip-frames",
                str(args.clip_frames),
            ]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in results:
        print(f"{r['frames']:6d} frames: peak RSS {r['peak_rss_mb']:.0f} MB, {r['seconds']:.1f} s "
              f"({r['frames'] / r['seconds']:.1f} frames/s)")  # fmt: skip
    growth = results[1]["peak_rss_mb"] / results[0]["peak_rss_mb"] - 1
    print(f"peak RSS growth with 10x frames: {100 * growth:+.1f} %  ({'ok' if growth < 0.10 else 'FAIL'}, goal < 10 %)")


def _random_state() -> dict:
    """A seeded random state dict with pytorch-fid's FID Inception layout."""
    from unittest import mock

    from pytorch_fid import inception as fid_inception

    with (
        mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *a, **k: None),
        mock.patch.object(fid_inception.torchvision.models.Inception3, "load_state_dict", lambda self, state: None),
    ):
        net = fid_inception.fid_inception_v3()
    return net.state_dict()


if __name__ == "__main__":
    main()
