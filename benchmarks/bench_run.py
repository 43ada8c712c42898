"""Time `stfbench run` on the synthetic protocol end to end, optionally from an empty cache (corpus
generation and face preparation included), and print the figures.

    python benchmarks/bench_run.py [--model synctalkface] [--fresh-cache] [--metrics ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="synctalkface")
    parser.add_argument("--fresh-cache", action="store_true", help="start from an empty STFBENCH_CACHE")
    parser.add_argument("--metrics", default=None, help="comma-separated metrics (default: the protocol's)")
    parser.add_argument("--threads", type=int, default=2, help="torch/OpenMP threads")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory(prefix="stfbench-bench-") as tmp:
        if args.fresh_cache:
            env["STFBENCH_CACHE"] = str(Path(tmp) / "cache")
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "stfbench", "run", "--model", args.model, "--dataset", "synthetic"]
        command += ["--out", str(out), "--no-progress"]
        if args.metrics:
            command += ["--metrics", args.metrics]
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        seconds = time.perf_counter() - started
        summary = json.loads((out / "summary.json").read_text())
        records = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    clip_seconds = sum(r["seconds"] for r in records)
    frames = sum(r.get("frames", 0) for r in records)
    print(f"model {args.model}, fresh cache {args.fresh_cache}, threads {args.threads}, cpus {os.cpu_count()}")
    print(f"wall time: {seconds:.1f} s (limit for synctalkface from a fresh cache: 600 s)")
    rate = frames / clip_seconds
    print(f"generate+score: {clip_seconds:.1f} s for {len(records)} clips, {frames} frames ({rate:.1f} fps)")
    print(f"scored {summary['n_scored']}/{summary['n_expected']}; failures {summary['failures']}")
    for key, stats in summary["metrics"].items():
        print(f"  {key}: {stats['mean']:.3f}")


if __name__ == "__main__":
    main()
