"""Dataset-scale scoring: time per stage, clips/s and peak RSS for --workers 1 and 2, and a second model's
LMD + FID run with a cold and a warm ground-truth cache, in one run, with the machine named.

Corpus: `--clips` clips (default 200) in LRS2 layout with LRS2-like lengths: equal parts of five seeded
synthetic corpora of 1.0, 1.2, 1.5, 2.0 and 2.5 s (LRS2 test utterances are short sentences of about 1–3 s),
generated once into `--work`. Two "models" are scored against it with `stfbench score` as whole processes:
model A's outputs are the ground-truth files themselves, model B's a re-encoded copy with ±6 noise. Metrics:
PSNR, SSIM, LMD (dlib), LSE (the synthetic protocol's `syncnet_synthetic`) and FID with a seeded Inception
in the official file layout: its FID values are timing-only, never a result.

Printed: per-stage costs measured in-process on a sample of clips (decode, face detection, landmarks,
SSIM, PSNR, SyncNet, Inception, writing); end-to-end clips/s and peak RSS of `--workers 1` vs `--workers 2`
for PSNR + SSIM + LMD, the per-clip CPU stages the workers take over (ground-truth cache off, so both do
the same work), with their ratio, and peak RSS for half of the corpus vs all of it; with
`--all-metrics-clips N`, the same pair over all metrics on N clips (there SyncNet and Inception run in the
main process, which already uses every core); LMD + FID of model A on a cold ground-truth cache vs model B
on the cache A filled (`--verify-cache` also scores B cold and compares values). FID samples every 25th
frame by default (`--fid-frame-step`): on 2 CPU cores Inception at 299 px would otherwise be most of the
time. Floors (2 cores): workers 2 ≥ 1.6× workers 1, warm ≥ 1.8× cold, RSS within 10 %.

    python benchmarks/bench_scale.py [--clips 200] [--work DIR] [--all-metrics-clips N] [--skip-workers]
        [--skip-cache] [--verify-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import machine

DURATIONS = (1.0, 1.2, 1.5, 2.0, 2.5)
ALL_METRICS = "psnr,ssim,lmd,lse,fid"
CPU_METRICS = "psnr,ssim,lmd"
PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
sys.stderr.write(code.stderr[-3000:])
used = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run and its worker processes
print(used.ru_utime + used.ru_stime, used.ru_maxrss)  # CPU seconds; KiB, the largest process of the run
sys.exit(code.returncode)
"""


def build_corpus(work: Path, clips: int) -> tuple[Path, Path, int]:
    """Ground-truth folder (symlinks named by corpus and clip) and model B's folder; returns (gt, b, frames)."""
    from stfbench.media import read_clip, write_clip
    from stfbench.synth import ensure_corpus

    gt, model_b = work / "gt", work / "model_b"
    if (work / "frames.txt").exists():
        return gt, model_b, int((work / "frames.txt").read_text())
    gt.mkdir(parents=True, exist_ok=True)
    model_b.mkdir(exist_ok=True)
    per_corpus = -(-clips // len(DURATIONS))
    rng, frames, made = np.random.default_rng(0), 0, 0
    for seed, duration in enumerate(DURATIONS):
        speakers = max(1, per_corpus // 8)
        root = ensure_corpus(work / f"corpus-{duration}", speakers=speakers, clips=-(-per_corpus // speakers),
                             seed=seed, duration_s=duration, image_size=160)  # fmt: skip
        for video in sorted((root / "main").rglob("*.mp4"))[:per_corpus]:
            if made == clips:
                break
            name = f"d{duration}_{video.parent.name}_{video.stem}.mp4"
            (gt / name).symlink_to(video)
            clip = read_clip(video)
            noisy = np.clip(clip.frames.astype(np.int16) + rng.integers(-6, 7, clip.frames.shape), 0, 255)
            write_clip(model_b / name, noisy.astype(np.uint8), clip.audio, clip.fps, clip.sample_rate)
            frames += len(clip.frames)
            made += 1
    (work / "frames.txt").write_text(str(frames))
    return gt, model_b, frames


def seeded_inception(work: Path) -> Path:
    """A seeded FID Inception state dict under the official file name (pytorch-fid's layout)."""
    from unittest import mock

    import torch
    from pytorch_fid import inception as fid_inception

    path = work / "pt_inception-2015-12-05-6726825d.pth"
    if not path.exists():
        torch.manual_seed(0)
        with (
            mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *a, **k: None),
            mock.patch.object(fid_inception.torchvision.models.Inception3, "load_state_dict", lambda self, s: None),
        ):
            torch.save(fid_inception.fid_inception_v3().state_dict(), path)
    return path


class Scored(NamedTuple):
    """One whole `stfbench score` process: wall and CPU seconds (workers included), peak RSS, its summary."""

    seconds: float
    cpu: float
    rss: float  # MiB
    summary: dict


def score(pred: Path, gt: Path, out: Path, metrics: str, workers: int, env: dict[str, str], *extra: str) -> Scored:
    """`stfbench score` of pred against gt as a whole process."""
    stfbench = str(Path(sys.executable).with_name("stfbench"))
    command = [sys.executable, "-c", PEAK_RSS, stfbench, "score", "--pred", str(pred), "--gt", str(gt),
               "--dataset", "synthetic", "--metrics", metrics, "--workers", str(workers), "--trust-unverified",
               "--out", str(out), "--no-progress", "--overwrite", *extra]  # fmt: skip
    print(f"  (scoring {pred.name} → {out.name}, --workers {workers} …)", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):
        sys.exit(f"stfbench score failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu, rss = done.stdout.split()[-2:]
    return Scored(seconds, float(cpu), int(rss) / 1024, json.loads((out / "summary.json").read_text()))


def stage_costs(
    gt: Path, model_b: Path, sample: int, device: str = "cpu", lse_weights: str | None = None, fid_step: int = 1
) -> dict[str, float]:
    """Seconds per clip of each stage, measured in this process (1 torch thread) on `sample` clips."""
    import cv2
    import torch

    from stfbench.media import read_clip
    from stfbench.metrics import MetricSettings, ScoringSample, build_metrics
    from stfbench.protocols import load_protocol
    from stfbench.runner.store import RunStore

    torch.set_num_threads(1)
    settings = MetricSettings.from_any(load_protocol("synthetic").metrics)
    if lse_weights is not None:
        settings.lse.weights = lse_weights
    settings.fid.frame_step = fid_step
    psnr, ssim, lmd, lse, fid = build_metrics(ALL_METRICS.split(","), settings, device, trust_unverified=True)
    detector = lmd.landmarker._detector  # dlib HOG, as inside the landmarker
    costs = dict.fromkeys(("decode", "face detection", "landmarks", "SSIM", "PSNR", "SyncNet", "Inception",
                           "writing"), 0.0)  # fmt: skip
    store = RunStore(Path(tempfile.mkdtemp()) / "run")
    store.root.mkdir(parents=True)
    names = sorted(p.name for p in gt.iterdir())[:sample]
    for name in names:
        started = time.perf_counter()
        truth, pred = read_clip(gt / name), read_clip(model_b / name)
        costs["decode"] += time.perf_counter() - started
        item = ScoringSample(name, pred.frames, truth.frames, pred_frames=pred.frames, audio=pred.audio)
        size = lmd.image_size
        started = time.perf_counter()
        for frame in (*truth.frames, *pred.frames):  # as the landmarker sees them
            frame = cv2.resize(frame, (size, size), interpolation=cv2.INTER_LINEAR) if size else frame
            detector(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 1)
        costs["face detection"] += time.perf_counter() - started
        for key, metric in (("landmarks", lmd), ("SSIM", ssim), ("PSNR", psnr), ("SyncNet", lse), ("Inception", fid)):
            started = time.perf_counter()
            metric.update(item)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            costs[key] += time.perf_counter() - started
        started = time.perf_counter()
        store.save_state({"metric_states": [m.state_dict() for m in (psnr, ssim, lmd, lse, fid)], "included_ids": []})
        store.append_record({"clip_id": name, "status": "ok", "metrics": {}})
        costs["writing"] += time.perf_counter() - started
    # the landmarker detects the face, then fits 68 points: the fit is the difference of two timings, which
    # noise on a loaded machine can make slightly negative when the fit is cheap (shown as 0)
    costs["landmarks"] = max(0.0, costs["landmarks"] - costs["face detection"])
    return {key: value / len(names) for key, value in costs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--work", type=Path, default=None, help="keep the corpus here between runs")
    parser.add_argument("--sample", type=int, default=8, help="clips for the per-stage costs")
    parser.add_argument("--fid-frame-step", type=int, default=25, help="FID samples every k-th frame (CPU budget)")
    parser.add_argument("--all-metrics-clips", type=int, default=0, help="also time all metrics on N clips, w1 vs w2")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-cache", action="store_true")
    parser.add_argument("--verify-cache", action="store_true", help="also score model B cold and compare")
    args = parser.parse_args()
    import torch  # noqa: F401  (named in the machine line)

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    gt, model_b, frames = build_corpus(work, args.clips)
    env = {"STFBENCH_WEIGHT_PT_INCEPTION": str(seeded_inception(work)), "STFBENCH_CACHE": str(work / "cache")}
    os.environ.update(env)
    print(f"machine: {machine()}")
    print(f"corpus: {args.clips} clips, {frames} frames ({frames / args.clips:.1f} per clip), 160x160, LRS2 layout; "
          f"FID from seeded Inception weights: timing only")  # fmt: skip
    costs = stage_costs(gt, model_b, args.sample, fid_step=args.fid_frame_step)
    total = sum(costs.values())
    print(f"per-stage cost, in-process, 1 thread, mean of {args.sample} clips (whole corpus ≈ × {args.clips}):")
    for key, value in sorted(costs.items(), key=lambda kv: -kv[1]):
        print(f"  {key:15} {value:7.3f} s/clip  {100 * value / total:5.1f} %  corpus ≈ {value * args.clips:7.1f} s")

    step = ("--fid-frame-step", str(args.fid_frame_step))
    if not args.skip_workers:
        runs = {}
        for workers in (1, 2):
            out = work / f"cpu-w{workers}"
            runs[workers] = score(model_b, gt, out, CPU_METRICS, workers, env, "--no-gt-cache")
        half = args.clips // 2
        subset = work / "half"
        for folder in ("gt", "model_b"):
            (subset / folder).mkdir(parents=True, exist_ok=True)
            for name in sorted(p.name for p in gt.iterdir())[:half]:
                if not (subset / folder / name).exists():
                    (subset / folder / name).symlink_to((gt if folder == "gt" else model_b) / name)
        halves = score(subset / "model_b", subset / "gt", work / "cpu-w2-half", CPU_METRICS, 2, env, "--no-gt-cache")
        _print_pair(f"{CPU_METRICS} (the per-clip CPU stages), ground-truth cache off", runs, args.clips)
        print(f"  peak RSS, workers 2: {half} clips {halves.rss:.0f} MiB, {args.clips} clips {runs[2].rss:.0f} MiB "
              f"({100 * (runs[2].rss / halves.rss - 1):+.1f} %; floor within 10 %)")  # fmt: skip
    if args.all_metrics_clips:
        subset = work / "all-subset"
        for folder in ("gt", "model_b"):
            (subset / folder).mkdir(parents=True, exist_ok=True)
            for name in sorted(p.name for p in gt.iterdir())[: args.all_metrics_clips]:
                if not (subset / folder / name).exists():
                    (subset / folder / name).symlink_to((gt if folder == "gt" else model_b) / name)
        runs = {}
        for workers in (1, 2):
            out = work / f"all-w{workers}"
            runs[workers] = score(subset / "model_b", subset / "gt", out, ALL_METRICS, workers, env, "--no-gt-cache",
                                  *step)  # fmt: skip
        _print_pair(f"all metrics ({ALL_METRICS}, FID every {args.fid_frame_step}th frame)", runs,
                    args.all_metrics_clips)  # fmt: skip

    if not args.skip_cache:
        cache = work / "cache" / "gt"
        if cache.exists():
            shutil.rmtree(cache)
        cold = score(gt, gt, work / "lmdfid-a-cold", "lmd,fid", 2, env, *step)  # model A: cold, fills the cache
        warm = score(model_b, gt, work / "lmdfid-b-warm", "lmd,fid", 2, env, *step)  # model B: warm
        print("LMD + FID, --workers 2, whole processes, same frames and work per model:")
        print(f"  model A, cold cache {cold.seconds:7.1f} s ({cold.cpu:.1f} CPU-s); "
              f"model B, warm {warm.seconds:7.1f} s ({warm.cpu:.1f} CPU-s): {cold.seconds / warm.seconds:.2f}x "
              "(floor 1.8)")  # fmt: skip
        if args.verify_cache:  # the same model cold, then warm again: the like-for-like pair
            shutil.rmtree(cache)
            cold_b = score(model_b, gt, work / "lmdfid-b-cold", "lmd,fid", 2, env, *step)
            again = score(model_b, gt, work / "lmdfid-b-warm2", "lmd,fid", 2, env, *step)
            same = _values(cold_b.summary) == _values(warm.summary) == _values(again.summary)
            seconds, cpu = (warm.seconds + again.seconds) / 2, (warm.cpu + again.cpu) / 2
            print(f"  model B cold {cold_b.seconds:.1f} s ({cold_b.cpu:.1f} CPU-s), warm again {again.seconds:.1f} s "
                  f"({again.cpu:.1f} CPU-s); B cold / B warm (mean of both): {cold_b.seconds / seconds:.2f}x by wall, "
                  f"{cold_b.cpu / cpu:.2f}x by CPU-s; values equal cold and warm: {same}")  # fmt: skip


def _print_pair(what: str, runs: dict, clips: int) -> None:
    print(f"{what}, {clips} clips, whole processes:")
    for workers, run in runs.items():
        print(f"  --workers {workers}: {run.seconds:7.1f} s  {clips / run.seconds:.3f} clips/s  {run.cpu:.1f} CPU-s  "
              f"peak RSS {run.rss:.0f} MiB")  # fmt: skip
    same = _values(runs[1].summary) == _values(runs[2].summary)
    ratio = runs[1].seconds / runs[2].seconds
    print(f"  ratio workers 1 / workers 2: {ratio:.2f} (floor 1.6); values identical: {same}")


def _values(summary: dict) -> tuple:
    """A score summary's metric values (means, CIs, dataset-level FID), without times or provenance."""
    return summary["metrics"], summary.get("fid"), summary["n_scored"]


if __name__ == "__main__":
    main()
