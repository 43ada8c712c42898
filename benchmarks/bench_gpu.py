"""GPU-box throughput: the scaled corpus scored with every metric on one CUDA device and one worker per core,
with per-stage costs and the projection to the real LRS2 and LRW test sets, in one run (≤ 8 minutes on
one H100/H200-class GPU with 16 cores at the defaults).

Corpus and "models" as in `bench_scale.py` (LRS2 layout, LRS2-like lengths; model A = the ground-truth
files, model B = a noisy re-encode). Networks use seeded weights in the official file layouts (SyncNet v2
`syncnet_v2.model`, FID Inception `pt_inception-2015-12-05-6726825d.pth`): every value is timing-only.
Runs: model B with all metrics and the ground-truth cache cold (the first model on a protocol), then model A
with it warm (every later model). Projection: measured seconds per frame × the test sets' frames (LRS2:
1,243 utterances, 0.5 h → 45,000 frames; LRW: 25,000 clips × 29 frames = 725,000 frames); goals LRS2 ≤ 5 min,
LRW ≤ 30 min.

    python benchmarks/bench_gpu.py [--device cuda] [--clips 200] [--workers N] [--work DIR]
    python benchmarks/bench_gpu.py --device cpu --clips 5     # the CPU check of the script itself
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import ALL_METRICS, build_corpus, score, seeded_inception, stage_costs
from bench_startup import machine

TEST_SETS = {"LRS2 test (1,243 clips)": 45_000, "LRW test (25,000 clips)": 725_000}
GOALS_MIN = {"LRS2 test (1,243 clips)": 5, "LRW test (25,000 clips)": 30}


def seeded_syncnet(folder: Path) -> Path:
    """A seeded SyncNet state dict as `syncnet_v2.model` (syncnet_python's layout) in `folder`."""
    import torch

    from stfbench.metrics.networks.syncnet import SyncNet

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "syncnet_v2.model"
    if not path.exists():
        torch.manual_seed(0)
        state = {k: v for k, v in SyncNet().state_dict().items() if not k.endswith("num_batches_tracked")}
        torch.save(state, path)
    return path


def describe_device(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            sys.exit("--device cuda: no CUDA device is visible (pass --device cpu for the script check)")
        memory = torch.cuda.get_device_properties(device).total_memory >> 30
        return f"{torch.cuda.get_device_name(device)} ({memory} GiB)"
    return "cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sample", type=int, default=8, help="clips for the per-stage costs")
    parser.add_argument("--work", type=Path, default=None, help="keep the corpus here between runs")
    args = parser.parse_args()
    import torch

    unit = describe_device(args.device)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    work.mkdir(parents=True, exist_ok=True)
    gt, model_b, frames = build_corpus(work, args.clips)
    weights = work / "weights"
    seeded_syncnet(weights)
    env = {
        "STFBENCH_WEIGHTS": str(weights),
        "STFBENCH_WEIGHT_PT_INCEPTION": str(seeded_inception(work)),
        "STFBENCH_CACHE": str(work / "cache"),
    }
    os.environ.update(env)
    print(f"machine: {machine()}; device {unit}; torch {torch.__version__}")
    print(f"corpus: {args.clips} clips, {frames} frames; seeded SyncNet v2 and Inception weights: timing only")
    costs = stage_costs(gt, model_b, min(args.sample, args.clips), args.device, "syncnet_v2")
    print(f"per-stage cost, in-process, mean of {min(args.sample, args.clips)} clips:")
    for key, value in sorted(costs.items(), key=lambda kv: -kv[1]):
        print(f"  {key:15} {value:7.3f} s/clip")
    extra = ("--device", args.device, "--lse-weights", "syncnet_v2")
    cold = score(model_b, gt, work / "cold", ALL_METRICS, args.workers, env, *extra)
    warm = score(gt, gt, work / "warm", ALL_METRICS, args.workers, env, *extra)
    for label, run in (("first model (GT cache cold)", cold), ("next model (warm)", warm)):
        per_frame = run.seconds / frames
        print(f"{label}: {run.seconds:.1f} s, {args.clips / run.seconds:.2f} clips/s, {frames / run.seconds:.0f} "
              f"frames/s, {run.cpu:.1f} CPU-s, peak RSS {run.rss:.0f} MiB, "
              f"{run.summary['n_scored']}/{run.summary['n_expected']} scored")  # fmt: skip
        for test_set, test_frames in TEST_SETS.items():
            minutes = per_frame * test_frames / 60
            verdict = "meets" if minutes <= GOALS_MIN[test_set] else "misses"
            print(f"  projected {test_set}: {minutes:.1f} min ({verdict} the {GOALS_MIN[test_set]} min goal)")
    if args.device.startswith("cuda"):
        print(f"peak GPU memory in this process (stage costs): {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
