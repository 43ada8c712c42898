"""Check the synthetic-protocol claims of issues #4 §7 and #5 §5 on finished run folders, and print each
claim with its numbers and a paired 95 % bootstrap CI over clips.

    python leaderboards/regenerate.py                                    # runs/synthetic/<row>
    stfbench run --model synctalkface --dataset synthetic \\
        --checkpoint stfbench/assets/weights/synctalkface_tiny_synthetic_slots0.pt --out runs/synthetic-slots0
    python benchmarks/check_synthetic_claims.py [--runs runs/synthetic] [--slots0 runs/synthetic-slots0]

A paired difference is "clearly" better when its CI excludes 0.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

LOWER_IS_BETTER = {"lmd": True, "lse_d": True, "psnr": False, "ssim": False, "lse_c": False}


def per_clip(run: Path) -> dict[str, dict[str, float]]:
    """Metric values of the clips scored `ok` in a run folder."""
    records = (json.loads(line) for line in (run / "clips.jsonl").read_text().splitlines() if line.strip())
    return {r["clip_id"]: r["metrics"] for r in records if r["status"] == "ok"}


def paired(a: dict, b: dict, key: str, seed: int = 0) -> tuple[float, float, float, int]:
    """Mean of a − b over shared clips, its 95 % bootstrap CI (10,000 resamples) and the number of clips."""
    ids = sorted(set(a) & set(b))
    diff = np.array([a[i][key] - b[i][key] for i in ids])  # (n,)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (10_000, len(diff)))].mean(axis=1)  # (10000,)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)), len(ids)


def beats(a: dict, b: dict, key: str, label: str) -> bool:
    mean, low, high, n = paired(a, b, key)
    ok = high < 0 if LOWER_IS_BETTER[key] else low > 0
    verdict = "PASS" if ok else "FAIL"
    print(f"  {verdict} {label}: {key} difference {mean:+.3f} (CI [{low:+.3f}, {high:+.3f}], {n} clips)")
    return ok


def dataset_mean(run: Path, key: str) -> float:
    return float(json.loads((run / "summary.json").read_text())["metrics"][key]["mean"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs/synthetic"))
    parser.add_argument("--slots0", type=Path, default=Path("runs/synthetic-slots0"))
    args = parser.parse_args()
    runs = {name: args.runs / name for name in ("synctalkface", "static", "mismatched-audio", "ground-truth")}
    runs["shifted"], runs["slots0"] = args.runs / "shifted-audio-k3", args.slots0
    missing = [str(path) for path in runs.values() if not (path / "summary.json").exists()]
    if missing:
        raise SystemExit(f"missing finished runs: {', '.join(missing)} (see the commands in this script's help)")
    stf, static, slots0 = per_clip(runs["synctalkface"]), per_clip(runs["static"]), per_clip(runs["slots0"])
    results = []
    print("#5 §5: SyncTalkFace (committed, slots 96) against the static reference frame")
    results += [beats(stf, static, key, "beats static") for key in ("lmd", "lse_c", "lse_d", "psnr", "ssim")]
    offset = dataset_mean(runs["shifted"], "av_offset")
    results.append(offset == 3.0)
    print(f"  {'PASS' if offset == 3.0 else 'FAIL'} shifted-audio --shift 3 reports AV offset {offset:.2f}")
    print("#5 §5: LSE of mismatched-audio < SyncTalkFace < ground truth, SyncTalkFace closer to ground truth")
    for key, sign in (("lse_d", -1), ("lse_c", 1)):
        floor, top = dataset_mean(runs["mismatched-audio"], key), dataset_mean(runs["ground-truth"], key)
        value = dataset_mean(runs["synctalkface"], key)
        between = sign * (top - floor) > 0 and sign * (value - floor) > 0 and sign * (top - value) > 0
        closer = abs(top - value) < abs(value - floor)
        results.append(between and closer)
        print(
            f"  {'PASS' if between and closer else 'FAIL'} {key}: mismatched {floor:.3f}, synctalkface {value:.3f}, "
            f"ground truth {top:.3f} (between: {between}, closer to ground truth: {closer})"
        )
    print("#4 §7: mouth landmarks of the 96-slot model against slots 0 (same schedule) and the static floor")
    results.append(beats(stf, slots0, "lmd", "clearly below slots 0"))
    results.append(beats(stf, static, "lmd", "below static"))
    print(f"{sum(results)} of {len(results)} claims hold")


if __name__ == "__main__":
    main()
