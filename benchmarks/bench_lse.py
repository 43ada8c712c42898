"""LSE throughput: stfbench vs a straightforward per-clip implementation of syncnet_python's `evaluate`.

The baseline does what the reference pipeline does: dump every frame as JPEG and read it back with OpenCV,
extract the audio to a 16-bit WAV in a subprocess and read it with scipy, stack windows of 5 frames into
batches of 20 for the unfolded 3-D SyncNet, and compute distances row by row. stfbench decodes in memory,
resizes with cv2, builds each batch from the uint8 frames and runs the folded 2-D network, in fp32 and in
the opt-in bf16 autocast mode (`lse[...,bf16]`).

Dataset throughput (clips of `--clip-seconds`, decoding included): per clip (`LSE.score`, each clip's
windows in their own batches) and cross-clip batched (`LSE.score_many` over groups of `--group` clips, as
`stfbench score` and `stfbench run` do), in fp32 and bf16, with the largest bf16 − fp32 differences.

Whole processes (start-up included), on the same clip and the same seeded weight file: `stfbench score
--metrics lse` as a user runs it, the in-repo baseline as its own process, and, with `--syncnet-python DIR`
(a checkout of joonson/syncnet_python, imported at run time, never part of this repository), the real
`SyncNetInstance.evaluate` with its ffmpeg JPEG dump (ffmpeg from `--ffmpeg`, `imageio_ffmpeg` or PATH; on a
machine without CUDA its `.cuda()` calls are made no-ops). In-process, stfbench's LSE (decoding included)
is compared with the SyncNet forward floor: the same network's forward passes alone over the same windows.

Weights are seeded random SyncNet v2-sized weights (timing only; all paths use the same weights and the
script prints the largest difference of their distance curves). `--synthetic` also compares bf16 with fp32
on the synthetic protocol's 40 test clips with the committed `syncnet_synthetic` weights (a trained net).
Usage:

    python benchmarks/bench_lse.py                 # one 10 s clip (baseline vs stfbench) + 100 clips of 3 s
    python benchmarks/bench_lse.py --clips 20 --threads 2 --synthetic
    python benchmarks/bench_lse.py --clips 0 --syncnet-python ~/src/syncnet_python
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from python_speech_features import mfcc
from scipy.io import wavfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import machine

from stfbench.media import read_clip, write_clip
from stfbench.metrics import ScoringSample, build_metrics
from stfbench.metrics.lse import LSE
from stfbench.metrics.networks.syncnet import FoldedSyncNet, SyncNet
from stfbench.metrics.sync import (
    SyncResult,
    evaluate_sync,
    lip_windows,
    mfcc_windows,
    resize_bgr224,
    stacked_lips,
    sync_input,
)

CPU = torch.device("cpu")

AUDIO_SCRIPT = """
import sys, numpy as np
from scipy.io import wavfile
from stfbench.media import read_audio
audio = read_audio(sys.argv[1])
wavfile.write(sys.argv[2], 16000, np.clip(np.rint(audio * 32768.0), -32768, 32767).astype(np.int16))
"""

REFERENCE_SCRIPT = """
import sys, time, types
import torch
if not torch.cuda.is_available():  # syncnet_python calls .cuda() unconditionally
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
sys.path.insert(0, sys.argv[1])
from SyncNetInstance import SyncNetInstance
instance = SyncNetInstance()
instance.__S__.load_state_dict(torch.load(sys.argv[2], map_location="cpu", weights_only=True), strict=False)
opt = types.SimpleNamespace(tmp_dir=sys.argv[4], reference="bench", batch_size=20, vshift=15)
with torch.no_grad():
    offset, conf, dists = instance.evaluate(opt, videofile=sys.argv[3])
print("RESULT", float(dists.mean(axis=0).min()), float(conf), int(offset))
"""

BASELINE_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
import torch
sys.path.insert(0, sys.argv[1])
from bench_lse import baseline_evaluate
from stfbench.metrics.networks.syncnet import load_syncnet
model = load_syncnet(Path(sys.argv[2])).eval()
curve, _ = baseline_evaluate(model, Path(sys.argv[3]), Path(sys.argv[4]))
print("RESULT", float(curve.min()), float(np.median(curve) - curve.min()), int(15 - np.argmin(curve)))
"""


def find_ffmpeg(given: str | None) -> str:
    if given:
        return given
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        found = shutil.which("ffmpeg")
        if found is None:
            sys.exit("syncnet_python needs ffmpeg: pass --ffmpeg PATH, pip install imageio-ffmpeg, or put it on PATH")
        return found


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and CPU seconds (user + system, children included) of one whole process, and its stdout;
    exits with its stderr if it failed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(f"{command[0]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, result.stdout


def whole_processes(clip: Path, model: SyncNet, work: Path, threads: int, syncnet_python: Path | None,
                    ffmpeg: str | None, repeat: int) -> None:  # fmt: skip
    """Time `stfbench score --metrics lse`, the baseline and (given) syncnet_python as whole processes,
    `repeat` interleaved rounds; prints each one's median wall and CPU seconds and the ratios of medians."""
    weights = work / "weights"
    weights.mkdir()
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, weights / "syncnet_v2.model")
    env = {"OMP_NUM_THREADS": str(threads), "STFBENCH_WEIGHTS": str(weights)}
    stfbench = str(Path(sys.executable).with_name("stfbench"))
    here = str(Path(__file__).resolve().parent)

    def stfbench_score(round_: int) -> tuple[float, float, float, float]:
        out = work / f"score{round_}"
        wall, cpu, _ = timed_process([stfbench, "score", "--pred", str(clip), "--metrics", "lse",
                                      "--trust-unverified", "--no-progress", "--out", str(out)], env)  # fmt: skip
        summary = json.loads((out / "summary.json").read_text())["metrics"]
        values = {key.split("[")[0]: value["mean"] for key, value in summary.items()}
        return wall, cpu, values["lse_d"], values["lse_c"]

    def script(name: str, source: str, extra_env: dict[str, str], *args: str):
        def run(round_: int) -> tuple[float, float, float, float]:
            command = [sys.executable, "-c", source, *args, str(work / f"{name}{round_}")]
            wall, cpu, out = timed_process(command, {**env, **extra_env})
            return wall, cpu, *map(float, out.split("RESULT")[1].split()[:2])

        return run

    rows = {
        "stfbench score --metrics lse (fp32)": stfbench_score,
        "in-repo baseline": script("baseline", BASELINE_SCRIPT, {}, here, str(weights / "syncnet_v2.model"), str(clip)),
    }
    if syncnet_python is not None:
        ffmpeg_dir = work / "ffmpeg-bin"
        ffmpeg_dir.mkdir()
        (ffmpeg_dir / "ffmpeg").symlink_to(find_ffmpeg(ffmpeg))
        path = {"PATH": f"{ffmpeg_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        rows["syncnet_python evaluate"] = script(
            "reference", REFERENCE_SCRIPT, path, str(syncnet_python), str(weights / "syncnet_v2.model"), str(clip)
        )
    timings: dict[str, list[tuple[float, float, float, float]]] = {label: [] for label in rows}
    for round_ in range(repeat):  # interleaved, so a change of load hits every row alike
        for label, run in rows.items():
            timings[label].append(run(round_))
    print(f"whole processes, start-up included, OMP_NUM_THREADS={threads}, same clip and seeded weights, "
          f"median of {repeat} interleaved round(s):")  # fmt: skip
    reference = list(rows)[-1]
    medians = {label: np.median(np.array(t)[:, :2], axis=0) for label, t in timings.items()}
    for label, found in timings.items():
        wall, cpu = medians[label]
        walls = ", ".join(f"{t[0]:.2f}" for t in found)
        print(f"  {label}: {wall:.2f} s wall ({walls}), {cpu:.2f} CPU-s, LSE-D {found[-1][2]:.4f}, "
              f"LSE-C {found[-1][3]:.4f}; {medians[reference][0] / wall:.2f}x by wall, "
              f"{medians[reference][1] / cpu:.2f}x by CPU-s vs {reference}")  # fmt: skip


@torch.no_grad()
def forward_floor(net: FoldedSyncNet, video_path: Path, batch_size: int) -> float:
    """Seconds of the SyncNet forward passes alone (lip and audio towers, fp32) over every window of the
    clip, in stfbench's batches; the inputs are built before the clock starts."""
    clip = read_clip(video_path)
    data = sync_input(resize_bgr224(clip.frames), clip.audio, CPU)
    batches = [
        (stacked_lips([lip_windows(data.frames, a, min(a + batch_size, data.windows))]),  # (B, 15, 224, 224)
         mfcc_windows(data.mfcc, a, min(a + batch_size, data.windows)))  # (B, 1, 13, 20)
        for a in range(0, data.windows, batch_size)
    ]  # fmt: skip
    started = time.perf_counter()
    for lips, mfccs in batches:
        net.forward_lip_stacked(lips)
        net.forward_aud(mfccs)
    return time.perf_counter() - started


def make_clip(path: Path, seconds: float, seed: int, size: int = 224) -> Path:
    """A talking-face-sized test video (moving pattern + noise audio), written losslessly."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * 25)
    base = cv2.resize(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8), (size, size))
    video = base[None] + (np.arange(frames) % 7).astype(np.uint8)[:, None, None, None]  # (T, size, size, 3)
    audio = (0.1 * rng.normal(size=int(seconds * 16000))).astype(np.float32)
    return write_clip(path, np.ascontiguousarray(video), audio)


@torch.no_grad()
def baseline_evaluate(model: SyncNet, video_path: Path, work: Path, vshift: int = 15, batch_size: int = 20):
    """Per-clip reference-style evaluation; returns the mean distance curve (31,)."""
    frames_dir = work / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(read_clip(video_path).frames):  # the ffmpeg JPEG dump
        cv2.imwrite(str(frames_dir / f"{i:06d}.jpg"), frame[..., ::-1])
    wav = work / "audio.wav"
    subprocess.run([sys.executable, "-c", AUDIO_SCRIPT, str(video_path), str(wav)], check=True)
    images = [cv2.resize(cv2.imread(str(p)), (224, 224)) for p in sorted(frames_dir.glob("*.jpg"))]
    im = torch.from_numpy(np.stack(images, axis=3)[None].transpose(0, 3, 4, 1, 2).astype(np.float32))  # (1,3,T,H,W)
    _, audio = wavfile.read(wav)
    cc = torch.from_numpy(mfcc(audio, 16000).T[None, None].astype(np.float32))  # (1, 1, 13, T_mfcc)
    lastframe = min(len(images), len(audio) // 640) - 5
    video_feats, audio_feats = [], []
    for i in range(0, lastframe, batch_size):
        stop = min(lastframe, i + batch_size)
        video_feats.append(model.forward_lip(torch.cat([im[:, :, v : v + 5] for v in range(i, stop)], 0)))
        audio_feats.append(model.forward_aud(torch.cat([cc[:, :, :, v * 4 : v * 4 + 20] for v in range(i, stop)], 0)))
    vid, aud = torch.cat(video_feats), torch.cat(audio_feats)
    padded = torch.nn.functional.pad(aud, (0, 0, vshift, vshift))
    win = 2 * vshift + 1
    dists = [
        torch.nn.functional.pairwise_distance(vid[[i]].repeat(win, 1), padded[i : i + win]) for i in range(len(vid))
    ]
    return torch.mean(torch.stack(dists, 1), 1).numpy(), lastframe


def stfbench_evaluate(net: FoldedSyncNet, video_path: Path, batch_size: int, precision: str = "fp32"):
    clip = read_clip(video_path)
    lips = resize_bgr224(clip.frames)
    result = evaluate_sync(net, lips, clip.audio, CPU, batch_size=batch_size, precision=precision)
    return result.mean_dists, result.windows


def load_sample(path: Path) -> ScoringSample:
    clip = read_clip(path)
    return ScoringSample(path.stem, clip.frames, pred_frames=clip.frames, audio=clip.audio)


def dataset_run(metric: LSE, paths: list[Path], group: int) -> tuple[float, list[SyncResult]]:
    """Seconds and results of scoring `paths` (decoding included): group 1 = `LSE.score` per clip, else
    `LSE.score_many` over groups of `group` clips."""
    started = time.perf_counter()
    results: list[SyncResult] = []
    for start in range(0, len(paths), group):
        samples = [load_sample(p) for p in paths[start : start + group]]
        results += [metric.score(samples[0])] if group == 1 else metric.score_many(samples)
    return time.perf_counter() - started, results


def differences(exact: list[SyncResult], reduced: list[SyncResult]) -> str:
    """Largest and mean |Δ| of LSE-D and LSE-C, and how many AV offsets differ."""
    d = np.array([abs(a.lse_d - b.lse_d) for a, b in zip(exact, reduced, strict=True)])
    c = np.array([abs(a.lse_c - b.lse_c) for a, b in zip(exact, reduced, strict=True)])
    offsets = sum(a.av_offset != b.av_offset for a, b in zip(exact, reduced, strict=True))
    lse_d = np.mean([a.lse_d for a in exact])
    lse_c = np.mean([a.lse_c for a in exact])
    return (
        f"|dLSE-D| max {d.max():.4f} mean {d.mean():.4f} (mean LSE-D {lse_d:.3f}); "
        f"|dLSE-C| max {c.max():.4f} mean {c.mean():.4f} (mean LSE-C {lse_c:.3f}); "
        f"AV offset differs on {offsets}/{len(exact)} clips"
    )


def synthetic_comparison(batch_size: int) -> None:
    """bf16 vs fp32 on the synthetic protocol's test clips with the trained `syncnet_synthetic` weights."""
    from stfbench.protocols import load_protocol
    from stfbench.synth import ensure_corpus

    spec = load_protocol("synthetic").synthetic
    root = ensure_corpus(speakers=spec.speakers, clips=spec.clips, seed=spec.seed, layout=spec.layout,
                         duration_s=spec.duration_s, image_size=spec.image_size)  # fmt: skip
    paths = [root / "main" / f"{line.split()[0]}.mp4" for line in (root / "test.txt").read_text().splitlines() if line]
    samples = [load_sample(p) for p in paths]
    settings = {"lse": {"weights": "syncnet_synthetic", "batch_size": batch_size}}
    (exact,) = build_metrics("lse", settings, CPU)
    (reduced,) = build_metrics("lse", {"lse": {**settings["lse"], "precision": "bf16"}}, CPU)
    print(f"synthetic protocol, {len(samples)} test clips, {exact.name} vs {reduced.name}:")
    print("  " + differences(exact.score_many(samples), reduced.score_many(samples)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the single-clip comparison")
    parser.add_argument("--clips", type=int, default=100, help="number of clips for the dataset throughput run")
    parser.add_argument("--clip-seconds", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=64, help="stfbench windows per forward pass")
    parser.add_argument("--group", type=int, default=8, help="clips per cross-clip batched group")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--synthetic", action="store_true", help="also compare bf16 with fp32 on synthetic clips")
    parser.add_argument("--syncnet-python", type=Path, help="a joonson/syncnet_python checkout to time as well")
    parser.add_argument("--ffmpeg", help="ffmpeg binary for syncnet_python (default: imageio_ffmpeg's, else PATH)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds of the whole-process timings")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = SyncNet(1.0).eval()
    folded = FoldedSyncNet(model)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = make_clip(tmp / "long.mkv", args.seconds, 0)
        print(f"machine: {machine()}")
        whole_processes(clip, model, tmp, args.threads, args.syncnet_python, args.ffmpeg, args.repeat)
        stfbench_evaluate(folded, clip, args.batch_size)  # warm-up
        stfbench_evaluate(folded, clip, args.batch_size, "bf16")
        started = time.perf_counter()
        ref_curve, windows = baseline_evaluate(model, clip, tmp / "work")
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        fast_curve, _ = stfbench_evaluate(folded, clip, args.batch_size)
        fast = time.perf_counter() - started
        started = time.perf_counter()
        bf16_curve, _ = stfbench_evaluate(folded, clip, args.batch_size, "bf16")
        bf16 = time.perf_counter() - started
        floor = forward_floor(folded, clip, args.batch_size)
        jpeg_diff = float(np.max(np.abs(ref_curve - fast_curve)) / np.max(np.abs(ref_curve)))
        bf16_diff = float(np.max(np.abs(bf16_curve - fast_curve)) / np.max(np.abs(fast_curve)))
        clip_data = read_clip(clip)
        same_input = evaluate_sync(model, resize_bgr224(clip_data.frames), clip_data.audio, CPU)
        net_diff = float(np.max(np.abs(same_input.mean_dists - fast_curve)) / np.max(np.abs(same_input.mean_dists)))
        print(f"{args.seconds:g} s clip ({windows} windows), {args.threads} threads, torch {torch.__version__}")
        print(
            f"  baseline (JPEG dump + subprocess audio + batches of 20): {baseline:.2f} s "
            f"({windows / baseline:.1f} windows/s)"
        )
        for label, seconds in (("fp32", fast), ("bf16", bf16)):
            print(
                f"  stfbench {label} (in memory, folded 2-D net, batch {args.batch_size}): {seconds:.2f} s "
                f"({windows / seconds:.1f} windows/s), speed-up {baseline / seconds:.2f}x"
            )
        print(f"  SyncNet forward floor (fp32, the same windows and batches, inputs prepared): {floor:.2f} s; "
              f"stfbench fp32 in-process = {fast / floor:.2f}x the floor")  # fmt: skip
        print(
            f"  distance curves, max relative difference: folded vs reference network on the same frames "
            f"{net_diff:.1e}; bf16 vs fp32 {bf16_diff:.1e}; vs the JPEG-dump baseline {jpeg_diff:.1e} "
            f"(JPEG changes the input)"
        )
        if not args.clips:
            return
        paths = [make_clip(tmp / f"c{i:03d}.mkv", args.clip_seconds, i + 1) for i in range(args.clips)]
        print(f"{args.clips} clips of {args.clip_seconds:g} s, batch {args.batch_size} (decoding included):")
        results = {}
        for precision, group in (("fp32", 1), ("fp32", args.group), ("bf16", args.group)):
            metric = LSE(folded, "random", CPU, batch_size=args.batch_size, precision=precision)
            elapsed, results[precision, group] = dataset_run(metric, paths, group)
            total = sum(r.windows for r in results[precision, group])
            how = "per clip" if group == 1 else f"batched across groups of {group} clips"
            print(f"  {metric.name} {how}: {elapsed:.1f} s, {args.clips / elapsed:.2f} clips/s, "
                  f"{total / elapsed:.1f} windows/s")  # fmt: skip
        alone, batched = results["fp32", 1], results["fp32", args.group]
        worst = max(float(np.max(np.abs(a.mean_dists - b.mean_dists))) for a, b in zip(alone, batched, strict=True))
        print(f"  batched vs per clip (fp32): largest distance difference {worst:.1e}")
        print("  bf16 vs fp32: " + differences(batched, results["bf16", args.group]))
    if args.synthetic:
        synthetic_comparison(args.batch_size)


if __name__ == "__main__":
    main()
