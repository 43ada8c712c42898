"""SyncTalkFace speed on this machine: training samples/s, inference frames/s, peak memory, memory-module cost.

    python benchmarks/bench_model.py [--presets tiny,paper] [--steps 3] [--threads N]

Training uses random tensors shaped like real batches (5-frame windows, all losses, GAN on, random expert),
so numbers measure compute only. Peak memory is the process's peak resident set (CPU) or
`torch.cuda.max_memory_allocated` (CUDA). GPU estimate: samples/s scales with the device's dense FP32
throughput; expect roughly (GPU TFLOPS / CPU TFLOPS) × CPU samples/s until data loading dominates.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import torch

from stfbench.reference_model.config import LossConfig, RunInfo, TrainConfig, expert_preset, model_preset
from stfbench.reference_model.data import TrainingClip
from stfbench.reference_model.generator import SyncTalkFace, count_parameters
from stfbench.reference_model.recipes import SyncTalkFaceTask
from stfbench.reference_model.syncnet import ColorSyncNet, freeze
from stfbench.reference_model.training import Trainer


def _clips(size: int) -> list[TrainingClip]:
    rng = np.random.default_rng(0)
    return [
        TrainingClip(f"c{i}", rng.integers(0, 255, (24, size, size, 3), np.uint8),
                     rng.standard_normal((24, 80, 16)).astype(np.float32),
                     rng.standard_normal((24, 80, 16)).astype(np.float32))
        for i in range(2)
    ]  # fmt: skip


def train_rate(preset: str, slots: int, steps: int, batch: int, device: torch.device) -> float:
    """Training samples (5-frame windows) per second, after one warm-up step."""
    config = model_preset(preset, slots=slots)
    expert_name = "tiny" if preset == "tiny" else "paper"
    expert = freeze(ColorSyncNet(expert_preset(expert_name, image_size=config.image_size))).to(device)
    task = SyncTalkFaceTask(config, LossConfig(), _clips(config.image_size), None, expert, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(task, TrainConfig(steps=1, batch_size=batch, checkpoint_every=10**9), tmp, device, RunInfo())
        trainer.run(show_progress=False)
        trainer.train = TrainConfig(steps=1 + steps, batch_size=batch, checkpoint_every=10**9, log_every=10**9)
        start = time.perf_counter()
        trainer.run(show_progress=False)
        return steps * batch / (time.perf_counter() - start)


@torch.no_grad()
def inference_rates(models: dict[int, SyncTalkFace], frames: int, device: torch.device, repeats: int = 7) -> dict:
    """Generated frames per second on the inference path per slot count, timed interleaved (median of
    `repeats`) so that load from other processes hits every variant alike."""
    size = next(iter(models.values())).config.image_size
    args = (torch.randn(frames, 1, 80, 16, device=device), torch.rand(frames, 3, size, size, device=device),
            torch.rand(frames, 3, size, size, device=device))  # fmt: skip
    times: dict[int, list[float]] = {slots: [] for slots in models}
    for repeat in range(repeats + 1):
        for slots, model in models.items():
            start = time.perf_counter()
            model(*args)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if repeat:  # the first round is warm-up
                times[slots].append(time.perf_counter() - start)
    return {slots: frames / float(np.median(t)) for slots, t in times.items()}


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,paper")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device {device}, torch threads {torch.get_num_threads()}, torch {torch.__version__}")
    print("| preset | slots | params | train samples/s | inference frames/s | memory cost (inference) |")
    print("|---|---|---|---|---|---|")
    for preset in args.presets.split(","):
        torch.manual_seed(0)
        models = {slots: SyncTalkFace(model_preset(preset, slots=slots)).to(device).eval() for slots in (96, 0)}
        rates = inference_rates(models, 16, device)
        for slots, model in models.items():
            train = train_rate(preset, slots, args.steps, args.batch, device)
            cost = "" if slots == 96 else f"memory module adds {100 * (rates[0] / rates[96] - 1):.1f} % time"
            params = count_parameters(model) / 1e6
            print(f"| {preset} | {slots} | {params:.2f} M | {train:.2f} | {rates[slots]:.1f} | {cost} |")
    print(f"peak memory {peak_memory_mb(device):.0f} MiB")


if __name__ == "__main__":
    main()
