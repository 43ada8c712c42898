"""Regenerate the committed synthetic-protocol leaderboard: run every built-in model and control on
`synthetic` (own audio), on `synthetic-cross` (each video driven by another clip's audio) and on `synthetic`
with silent driving audio (LipLeak), then write leaderboards/synthetic.{md,tex,csv,json}.

    python leaderboards/regenerate.py [--runs runs/synthetic] [--device cpu] [--out leaderboards]

Runs resume, so an interrupted regeneration continues where it stopped, and a finished run is not redone.
Each table's values are deterministic at the printed precision: same runs, same text.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

#: (run folder name, `stfbench run` arguments), in table row order within each column group.
OWN = ["--dataset", "synthetic"]
CROSS = ["--dataset", "synthetic-cross"]
SILENT = ["--dataset", "synthetic", "--audio", "silent"]
MODELS = ("synctalkface", "wav2lip", "static", "ground-truth")  # the rows of the cross and silent groups
ROWS = [
    ("synctalkface", ["--model", "synctalkface", *OWN]),
    ("wav2lip", ["--model", "wav2lip", *OWN]),
    ("static", ["--model", "static", *OWN]),
    ("mismatched-audio", ["--model", "mismatched-audio", *OWN]),
    ("shifted-audio-k3", ["--model", "shifted-audio", "--shift", "3", *OWN]),
    ("ground-truth", ["--model", "ground-truth", *OWN]),
    *[(f"cross/{model}", ["--model", model, *CROSS]) for model in MODELS],
    *[(f"silent/{model}", ["--model", model, *SILENT]) for model in MODELS],
]
FORMATS = {"markdown": "md", "latex": "tex", "csv": "csv", "json": "json"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs/synthetic"), help="where the run folders go")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="where the tables go")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: auto)")
    args = parser.parse_args()
    stfbench = [sys.executable, "-m", "stfbench"]
    run_dirs = []
    for folder, model_args in ROWS:
        run_dir = args.runs / folder
        command = [*stfbench, "run", *model_args, "--out", str(run_dir), "--resume"]
        if args.device:
            command += ["--device", args.device]
        print("$", " ".join(command[2:]), flush=True)
        subprocess.run(command, check=True)
        run_dirs.append(str(run_dir))
    for fmt, suffix in FORMATS.items():
        target = args.out / f"synthetic.{suffix}"
        subprocess.run([*stfbench, "leaderboard", *run_dirs, "--format", fmt, "--out", str(target)], check=True)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
