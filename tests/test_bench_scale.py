"""benchmarks/bench_gpu.py (and the bench_scale parts it shares) run end to end on CPU with a micro corpus:
the script a lent GPU runs is checked here first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_gpu_runs_on_cpu_with_a_micro_corpus(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_gpu.py"), "--device", "cpu", "--clips", "3", "--sample", "1",
               "--workers", "2", "--work", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "machine: " in out and "corpus: 3 clips" in out
    for stage in ("decode", "face detection", "landmarks", "SSIM", "SyncNet", "Inception", "writing"):
        assert re.search(rf"^  {stage} +\d+\.\d+ s/clip$", out, re.M), stage
    assert out.count("3/3 scored") == 2
    assert len(re.findall(r"projected (LRS2|LRW) test .*: \d+\.\d min \((meets|misses)", out)) == 4
    assert len(list((tmp_path / "cache" / "gt" / "lmd").glob("*/*.npz"))) == 3  # the warm run read these
    assert len(list((tmp_path / "cache" / "gt" / "fid").glob("*/*.npz"))) == 3
