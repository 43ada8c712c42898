"""Start-up time: `stfbench --version` (the installed console script, whole process) beside
`python -c "import torch"`, side by side in one run, with the machine named.

    python benchmarks/bench_startup.py [--repeat 7]

Goal (issue: trust at first contact): `stfbench --version` takes at most half the time of importing torch.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall_s(command: list[str], repeat: int) -> float:
    """Median wall time of `command` over `repeat` runs (one warm-up run first)."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine() -> str:
    """CPU model, cores, vector extensions, Python (and torch, when imported): every figure is named with it."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        model = next(iter(re.findall(r"model name\s*:\s*(.+)", text)), model)
        flags = set(next(iter(re.findall(r"flags\s*:\s*(.+)", text)), "").split())
    vector = (
        ("AVX-512" + (" with BF16" if "avx512_bf16" in flags else "") if "avx512f" in flags else "AVX2 only")
        if flags
        else "unknown ISA"
    )
    torch = sys.modules.get("torch")
    versions = f"Python {platform.python_version()}" + (f", torch {torch.__version__}" if torch is not None else "")
    return f"{model}, {os.cpu_count()} cores, {vector}, {versions}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    stfbench = str(Path(sys.executable).with_name("stfbench"))
    rows = {
        "stfbench --version": wall_s([stfbench, "--version"], args.repeat),
        "stfbench --help": wall_s([stfbench, "--help"], args.repeat),
        "stfbench protocols list": wall_s([stfbench, "protocols", "list"], args.repeat),
        'python -c "import torch"': wall_s([sys.executable, "-c", "import torch"], args.repeat),
    }
    print(f"machine: {machine()}")
    torch_s = rows['python -c "import torch"']
    for name, seconds in rows.items():
        print(f"{name:28s} {seconds:6.3f} s   {seconds / torch_s:5.2f} × import torch")
    ratio = rows["stfbench --version"] / torch_s
    print(f"--version / import torch = {ratio:.2f} (goal ≤ 0.50): {'met' if ratio <= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
