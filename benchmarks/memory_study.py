"""GPU memory study: tiny SyncTalkFace with 96 memory slots against slots 0, each trained for the same wall
budget with a GPU-sized batch, then scored on the synthetic protocol.

    python benchmarks/memory_study.py --device cuda [--budget-s 90] [--batch-size 128] [--out runs/memory-study]

Both variants start from the same seed and use the committed colour expert (`--expert`), the released-code
recipe otherwise (`stfbench train` defaults, `--lr-g` 1e-3 as for the committed files) and AMP on CUDA.
Each trains until `--budget-s` seconds of training-loop wall time have passed (the training clips are
prepared once, before either budget starts), is exported (fp16), scored with the runner (`stfbench run
--model synctalkface --checkpoint …`, metrics LMD and LSE) and, for slots 96, analysed like `stfbench
memory` (slots used as top slot, mean key-address entropy over the test clips' frames). Printed and written
to OUT/memory_study.json (after each variant, so a crash keeps what was done): per variant steps, throughput
(training samples/s, the trainer's own figure), peak GPU memory (`torch.cuda.max_memory_allocated` during
training; null on CPU), LMD/LSE-D/LSE-C with 95 % bootstrap CIs over clips, and the paired difference
slots 96 − slots 0 per clip with its 95 % bootstrap CI.

The defaults aim at 8 minutes in all on one H100/H200-class GPU (not yet measured on one), including
preparing the corpus's 132 training and 40 test clips (dlib on the CPU, in `--workers` processes; the
total and the preparation time are printed). On CPU it runs with a micro budget, e.g. `--device cpu --budget-s 1
--batch-size 2 --limit-train-clips 2 --limit-test-clips 2`. `--limit-test-clips N` scores the first N test
clips only: a subset of the protocol's pinned list, so its numbers are not the protocol's.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

VARIANTS = {"slots96": 96, "slots0": 0}
METRICS = {"lmd": ("lmd",), "lse": ("lse_d", "lse_c")}  # runner metric → its keys
METRIC_KEYS = ("lmd", "lse_d", "lse_c")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=90.0, help="training wall time per variant (s)")
    parser.add_argument("--batch-size", type=int, default=128, help="5-frame windows per step")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=Path("runs/memory-study"), help="new folder for all outputs")
    parser.add_argument("--lr-g", type=float, default=1e-3, help="generator learning rate (Adam)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True, help="mixed precision (CUDA)")
    parser.add_argument("--expert", default="synctalkface_expert_tiny_synthetic", help="file or registry id")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", type=Path, default=None, help="synthetic corpus root (default: the cached one)")
    parser.add_argument("--limit-train-clips", type=int, default=None, help="first N training clips")
    parser.add_argument("--limit-test-clips", type=int, default=None, help="score the first N test clips only")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes preparing clips")
    return parser.parse_args(argv)


def train_variant(slots: int, clips: list, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Train tiny/`slots` for `args.budget_s` seconds into OUT/train-<slots>; export it; training figures."""
    from stfbench.reference_model.checkpoint import export_inference
    from stfbench.reference_model.config import LossConfig, RunInfo, TrainConfig, model_preset
    from stfbench.reference_model.recipes import SyncTalkFaceTask, load_expert
    from stfbench.reference_model.training import Trainer
    from stfbench.weights import entries, resolve

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    config = model_preset("tiny", slots=slots)
    expert_path = resolve(args.expert) if args.expert in entries() else Path(args.expert)
    expert, expert_sha = load_expert(expert_path, config.image_size)
    task = SyncTalkFaceTask(config, LossConfig(), clips, None, expert.to(device), expert_sha)
    train = TrainConfig(steps=10**9, batch_size=args.batch_size, lr_generator=args.lr_g, amp=args.amp,
                        seed=args.seed, log_every=25, checkpoint_every=10**9)  # fmt: skip
    run_dir = args.out / f"train-slots{slots}"
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    trainer = Trainer(task, train, run_dir, device, RunInfo(sys.argv, "synthetic", args.seed))
    started = time.perf_counter()
    trainer.run(show_progress=False, max_seconds=args.budget_s)
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in trainer.log_path.read_text().splitlines()]
    export = args.out / f"synctalkface_tiny_slots{slots}.pt"
    export_inference(trainer.state(), ["generator"], export, drop=("generator.lip_encoder.",))
    return {
        "slots": slots,
        "steps": trainer.step,
        "samples": trainer.step * args.batch_size,
        "train_seconds": round(seconds, 2),
        "samples_per_s": next(r["samples_per_s"] for r in reversed(records) if "samples_per_s" in r),
        "peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "amp": trainer.use_amp,
        "checkpoint": str(export),
    }


def score(checkpoint: str, label: str, protocol: Any, list_file: Path | None, args: argparse.Namespace) -> dict:
    """`stfbench run --model synctalkface --checkpoint checkpoint` once per metric, into OUT/run-<label>-<metric>
    (so a clip whose generated face dlib misses, a failure for LMD, still gets its LSE); {metric: run folder}."""
    from stfbench.runner.config import RunConfig
    from stfbench.runner.run import run_benchmark

    runs = {}
    for metric in METRICS:
        config = RunConfig(model="synctalkface", dataset=protocol.id, out_dir=args.out / f"run-{label}-{metric}",
                           model_options={"checkpoint": checkpoint}, root=args.root, list_file=list_file,
                           metrics=[metric], device=args.device, seed=args.seed, show_progress=False)  # fmt: skip
        runs[metric] = run_benchmark(config, protocol=protocol)
    return runs


def run_metrics(runs: dict[str, Path]) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """({key: mean, ci95 over clips, clips scored, failures by status}, {clip id: {key: value}}) of finished
    runs {metric: run folder}."""
    means: dict[str, Any] = {}
    per_clip: dict[str, dict[str, float]] = {}
    for metric, run_dir in runs.items():
        summary = json.loads((run_dir / "summary.json").read_text())
        for line in (run_dir / "clips.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record["status"] == "ok":
                per_clip.setdefault(record["clip_id"], {}).update(record["metrics"])
        for key in METRICS[metric]:
            entry = summary["metrics"].get(key, {})
            means[key] = {"mean": entry.get("mean"), "ci95": entry.get("ci95"), "n_scored": summary["n_scored"],
                          "failures": summary["failures"]}  # fmt: skip
    return means, per_clip


def paired(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]], key: str, seed: int) -> dict[str, Any]:
    """Mean of a − b over the clips both scored (finite values), its 95 % bootstrap CI, the clip count and the
    number of clips where a < b."""
    from stfbench.runner.summary import bootstrap_ci

    def finite(values: dict[str, float]) -> bool:
        return isinstance(values.get(key), (int, float)) and math.isfinite(values[key])

    ids = sorted(i for i in set(a) & set(b) if finite(a[i]) and finite(b[i]))
    diff = np.array([a[i][key] - b[i][key] for i in ids], np.float64)  # (n,)
    low, high = bootstrap_ci(diff, seed) if len(diff) else (math.nan, math.nan)
    mean = float(diff.mean()) if len(diff) else math.nan
    return {"mean": mean, "ci95": [low, high], "n": len(ids), "a_lower": int((diff < 0).sum())}


def memory_usage(checkpoint: str, protocol: Any, clip_ids: list[str], device: torch.device) -> dict[str, Any] | None:
    """Slots used as top slot and mean key-address entropy over every frame of the test clips (None: slots 0)."""
    from stfbench.audio import mel_windows
    from stfbench.datasets import load_prepared
    from stfbench.reference_model import analysis
    from stfbench.reference_model.inference import frames_for_audio, load_generator

    model = load_generator(checkpoint, device).model
    if model.memory is None:
        return None
    windows = []
    for clip_id in clip_ids:
        clip = load_prepared(protocol, clip_id)
        num_frames = frames_for_audio(len(clip.audio), protocol.sample_rate, protocol.fps)
        windows.append(mel_windows(clip.mel, num_frames, protocol.fps, model.config.mel_offset_frames))
    windows = np.concatenate(windows)  # (N, 80, 16)
    with torch.no_grad():
        report = analysis.analyse(analysis.key_addresses(model, windows), ["all"] * len(windows))
    return {
        "slots": int(report.slot_usage.size),
        "slots_used": report.slots_used,
        "entropy_nats": report.entropy,
        "max_entropy_nats": report.max_entropy,
        "frames": report.frames,
    }


def prepare_clips(protocol: Any, test_ids: list[str], args: argparse.Namespace) -> None:
    """Detect, crop and cache the training and test clips in `args.workers` processes (before any CUDA use),
    so that `load_training_clips` and the runner only read the cache; with 1 worker they prepare as they go."""
    from concurrent.futures import ProcessPoolExecutor

    from stfbench.datasets import clip_path, layout_of, read_layout
    from stfbench.protocols import protocol_root

    if args.workers <= 1:
        return
    base = protocol_root(protocol, args.root)
    shape = layout_of(protocol.dataset, base)
    train_ids = read_layout(protocol.dataset, base, "train")[: args.limit_train_clips]
    tasks = [(str(clip_path(shape, base, i, "train")), i, protocol) for i in train_ids]
    tasks += [(str(clip_path(shape, base, i, protocol.split)), i, protocol) for i in test_ids]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(_prepare_one, tasks, chunksize=2))


def _prepare_one(task: tuple[str, str, Any]) -> None:
    """One clip into the prepare cache (a failure is cached too, and counted by status when the clip is read)."""
    from stfbench.datasets import prepare_clip
    from stfbench.errors import StfbenchError

    torch.set_num_threads(1)
    path, clip_id, protocol = task
    with contextlib.suppress(StfbenchError):
        prepare_clip(path, protocol, clip_id=clip_id)


def test_protocol(args: argparse.Namespace) -> tuple[Any, Path | None, list[str]]:
    """The synthetic protocol (its pins dropped and a list file of the first N ids with --limit-test-clips),
    that list file (None: the protocol's own) and the test clip ids."""
    from stfbench.protocols import load_protocol, resolve_clip_list

    protocol = load_protocol("synthetic")
    if args.limit_test_clips is None:
        return protocol, None, list(resolve_clip_list(protocol, args.root).ids)
    ids = list(resolve_clip_list(protocol, args.root, verify=False).ids[: args.limit_test_clips])
    list_file = args.out / "test_clips.txt"
    list_file.write_text("".join(f"{clip_id}\n" for clip_id in ids))
    subset = dataclasses.replace(protocol.clip_list, count=None, sha256=None)
    return dataclasses.replace(protocol, clip_list=subset), list_file, ids


def study(args: argparse.Namespace) -> dict[str, Any]:
    from bench_startup import machine

    from stfbench import strict_json
    from stfbench.console import make_console
    from stfbench.reference_model.config import model_preset
    from stfbench.reference_model.dataset import load_training_clips

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
    started = time.perf_counter()
    protocol, list_file, test_ids = test_protocol(args)
    prepare_clips(protocol, test_ids, args)
    config = model_preset("tiny")
    clips = load_training_clips("synthetic", "train", config.image_size, config.mel_offset_frames, args.root,
                                args.limit_train_clips, make_console(stderr=True))  # fmt: skip
    report: dict[str, Any] = {
        "machine": machine(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "budget_s": args.budget_s,
        "batch_size": args.batch_size,
        "lr_g": args.lr_g,
        "train_clips": len(clips),
        "test_clips": len(test_ids),
        "protocol_subset": list_file is not None,
        "prepare_seconds": round(time.perf_counter() - started, 2),
        "variants": {},
    }
    path = args.out / "memory_study.json"
    per_clip = {}
    for label, slots in VARIANTS.items():
        variant = train_variant(slots, clips, args, device)
        runs = score(variant["checkpoint"], label, protocol, list_file, args)
        variant["metrics"], per_clip[label] = run_metrics(runs)
        variant["memory"] = memory_usage(variant["checkpoint"], protocol, test_ids, device)
        variant["runs"] = {metric: str(run_dir) for metric, run_dir in runs.items()}
        report["variants"][label] = variant
        path.write_text(strict_json.dumps(report, indent=1) + "\n")
    report["paired_slots96_minus_slots0"] = {
        key: paired(per_clip["slots96"], per_clip["slots0"], key, args.seed) for key in METRIC_KEYS
    }
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    path.write_text(strict_json.dumps(report, indent=1) + "\n")
    return report


def print_report(report: dict[str, Any], path: Path) -> None:
    def ci(entry: dict[str, Any]) -> str:
        if entry["mean"] is None:
            return "— (no clip scored)"
        low, high = (math.nan if x is None else x for x in entry["ci95"] or (None, None))
        return f"{entry['mean']:.3f} [{low:.3f}, {high:.3f}]"

    print(f"machine: {report['machine']}; device {report['device']} ({report['gpu'] or 'no GPU'})")
    print(f"torch {report['torch']}, batch {report['batch_size']}, budget {report['budget_s']} s per variant")
    subset = " (a subset: not the protocol's numbers)" if report["protocol_subset"] else ""
    print(f"{report['train_clips']} training clips, {report['test_clips']} synthetic test clips{subset}")
    print("| variant | steps | samples/s | peak GPU MiB | slots used | entropy (nats) | LMD ↓ | LSE-D ↓ | LSE-C ↑ |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, v in report["variants"].items():
        memory = v["memory"]
        used = f"{memory['slots_used']} / {memory['slots']}" if memory else "—"
        entropy = f"{memory['entropy_nats']:.2f} / {memory['max_entropy_nats']:.2f}" if memory else "—"
        peak = "—" if v["peak_gpu_mib"] is None else f"{v['peak_gpu_mib']:.0f}"
        metrics = " | ".join(ci(v["metrics"][key]) for key in METRIC_KEYS)
        print(f"| {label} | {v['steps']} | {v['samples_per_s']:.1f} | {peak} | {used} | {entropy} | {metrics} |")
    for label, v in report["variants"].items():
        counts = "; ".join(
            f"{metric} {v['metrics'][keys[0]]['n_scored']}/{report['test_clips']}"
            + "".join(f", {status} {n}" for status, n in v["metrics"][keys[0]]["failures"].items())
            for metric, keys in METRICS.items()
        )
        print(f"{label} clips scored: {counts}")
    for key, diff in report["paired_slots96_minus_slots0"].items():
        print(f"paired slots96 − slots0 {key}: {ci(diff)}, slots96 lower on {diff['a_lower']} of {diff['n']} clips")
    print(f"total {report['total_seconds']:.0f} s (preparing {report['prepare_seconds']:.0f} s); report → {path}")


def fail(message: str) -> None:
    """One line on stderr, exit status 2 (bad input), no traceback."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    from stfbench.errors import StfbenchError

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        args.out.mkdir(parents=True, exist_ok=False)  # a new folder: never two studies (or resumed runs) in one
    except OSError as error:
        fail(f"{args.out}: {error.strerror}; give a new --out (a study never reuses or resumes a folder)")
    try:
        report = study(args)
    except StfbenchError as error:
        fail(str(error))
    print_report(report, args.out / "memory_study.json")


if __name__ == "__main__":
    main()
