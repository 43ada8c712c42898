"""Time the default `stfbench ablate` (synthetic protocol, tiny preset, default slot list) end to end in a
fresh output folder — training every variant and running the protocol for each — and print the figures.

    python benchmarks/bench_ablate.py [--threads 2] [--slots 0,24,96] [--keep DIR]

The issue's target: the default slot list on `synthetic` finishes within 45 minutes on 2 CPU cores.
Per-variant training time comes from each variant's `train_log.jsonl`, run time from `clips.jsonl`.
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


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch/OpenMP threads")
    parser.add_argument("--slots", default=None, help="slot list (default: the command's default)")
    parser.add_argument("--keep", type=Path, default=None, help="write the ablation here instead of a temp dir")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory(prefix="stfbench-ablate-") as tmp:
        out = args.keep or Path(tmp) / "ablation"
        command = [sys.executable, "-m", "stfbench", "ablate", "--dataset", "synthetic", "--out", str(out)]
        command += ["--no-progress"] + (["--slots", args.slots] if args.slots else [])
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        seconds = time.perf_counter() - started
        print(f"stfbench ablate ({args.slots or 'default slots'}), threads {args.threads}, cpus {os.cpu_count()}")
        print(f"wall time: {seconds / 60:.1f} min (target for the default list: 45 min on 2 cores)")
        for log in sorted((out / "train").glob("*/train_log.jsonl")):
            steps = [r for r in _records(log) if "samples_per_s" in r]
            if steps:
                last = steps[-1]
                print(f"  train {log.parent.name}: {last['step']} steps, {last['samples_per_s']:.2f} samples/s")
        for clips in sorted((out / "runs").glob("*/clips.jsonl")):
            records = _records(clips)
            print(f"  run {clips.parent.name}: {len(records)} clips in {sum(r['seconds'] for r in records):.0f} s")


if __name__ == "__main__":
    main()
