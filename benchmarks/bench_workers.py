"""`stfbench score --workers 1` beside `--workers 2` on the synthetic protocol's test clips, in one run, with
the machine named.

Scores the test clips against themselves with the synthetic protocol's metric settings (PSNR, SSIM, LMD,
LSE with `syncnet_synthetic`; FID only when the official Inception file is installed), once per worker
count, checks that the records and summaries are identical, and prints the wall time of each, the ratio
and the machine.

    python benchmarks/bench_workers.py [--clips N] [--metrics psnr,ssim,lmd,lse] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import machine

from stfbench.cli import app
from stfbench.protocols import load_protocol, protocol_root
from stfbench.weights import verify


def _comparable(out: Path) -> tuple[list[dict], dict]:
    """Records in protocol order without timing, and the summary without its times."""
    records = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("seconds")
    summary = json.loads((out / "summary.json").read_text())
    for key in ("starts", "time", "command"):
        summary["provenance"].pop(key, None)
    return sorted(records, key=lambda r: r["index"]), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=None, help="the first N test clips (default: all 40)")
    parser.add_argument("--metrics", default=None, help="default: psnr,ssim,lmd,lse (+fid when its weights exist)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    args = parser.parse_args()
    metrics = args.metrics or "psnr,ssim,lmd,lse" + (",fid" if verify("pt_inception") == "ok" else "")
    counts = [int(n) for n in args.workers.split(",")]
    root = protocol_root(load_protocol("synthetic"))
    test_ids = [line.split()[0] for line in (root / "test.txt").read_text().splitlines() if line.strip()]
    test_ids = test_ids[: args.clips] if args.clips else test_ids
    seconds, results = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "test.txt"
        listing.write_text("".join(f"{root / 'main' / clip}.mp4\n" for clip in test_ids))
        for workers in counts:
            out = Path(tmp) / f"workers{workers}"
            command = ["score", "--pred", str(listing), "--gt", str(listing), "--metrics", metrics, "--protocol",
                       "synthetic", "--out", str(out), "--workers", str(workers), "--no-progress"]  # fmt: skip
            started = time.perf_counter()
            result = CliRunner().invoke(app, command)
            seconds[workers] = time.perf_counter() - started
            if result.exit_code != 0:
                raise SystemExit(result.output + str(result.exception or ""))
            results[workers] = _comparable(out)
    same = all(results[n] == results[counts[0]] for n in counts)
    print(f"machine: {machine()}")
    print(f"{len(test_ids)} synthetic test clips, metrics {metrics}")
    for workers in counts:
        print(f"--workers {workers}: {seconds[workers]:7.1f} s   {len(test_ids) / seconds[workers]:.2f} clips/s")
    if len(counts) > 1:
        print(f"ratio --workers {counts[0]} / --workers {counts[-1]}: {seconds[counts[0]] / seconds[counts[-1]]:.2f}")
    print(f"records and summaries identical: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
