"""`stfbench score` throughput on the synthetic protocol's test split (all metrics together).

Scores the test clips against themselves (a ground-truth control: PSNR is ∞, LMD 0) with the synthetic
protocol's metric settings (LSE with `syncnet_synthetic`); FID is included only when the official
Inception file is installed. Prints clips/s and the per-metric summary.

    python benchmarks/bench_score.py [--metrics psnr,ssim,lmd,lse] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.protocols import load_protocol, protocol_root
from stfbench.weights import verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", default=None, help="default: psnr,ssim,lmd,lse (+fid when its weights exist)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    metrics = args.metrics or "psnr,ssim,lmd,lse" + (",fid" if verify("pt_inception") == "ok" else "")
    root = protocol_root(load_protocol("synthetic"))
    test_ids = [line.split()[0] for line in (root / "test.txt").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "test.txt"
        listing.write_text("".join(f"{root / 'main' / clip}.mp4\n" for clip in test_ids))
        out = Path(tmp) / "out"
        started = time.perf_counter()
        command = ["score", "--pred", str(listing), "--gt", str(listing), "--metrics", metrics]
        command += ["--protocol", "synthetic", "--out", str(out), "--device", args.device]
        result = CliRunner().invoke(app, command)
        elapsed = time.perf_counter() - started
        if result.exit_code != 0:
            raise SystemExit(result.output + str(result.exception or ""))
        summary = json.loads((out / "summary.json").read_text())
    print(result.output)
    print(f"{summary['n_scored']}/{summary['n_expected']} test clips, metrics {metrics}: {elapsed:.1f} s, "
          f"{summary['n_expected'] / elapsed:.2f} clips/s")  # fmt: skip


if __name__ == "__main__":
    main()
