"""Train a SyncNet-architecture network on the synthetic corpus (Chung & Zisserman's contrastive recipe).

Pairs are a 5-frame lip window (the whole 160×160 frame resized to 224×224 BGR exactly as LSE
`fullframe224` feeds it) and a 20-step MFCC window. Positives: the audio window at the video window's
position. Negatives: the audio shifted by 1–15 frames within the clip, or another clip's audio; each video
window is paired with one positive and `audio_per_video − 1` negatives (the audio tower is cheap). Loss:
contrastive, d² for positives + max(margin − d, 0)² for negatives, on the Euclidean distance d of the two
embeddings (the distance LSE reports). The checkpoint stores an fp16 state dict in syncnet_python's layout
with its width, seed and command, so `load_syncnet` reads it like `syncnet_v2.model`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from stfbench.audio import syncnet_mfcc
from stfbench.errors import StfbenchError
from stfbench.metrics.networks.syncnet import SyncNet
from stfbench.metrics.sync import MFCC_PER_FRAME, MFCC_WINDOW, WINDOW_FRAMES, num_windows, resize_bgr224


@dataclass
class SyncNetTrainConfig:
    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-3
    width: float = 0.25
    margin: float = 10.0
    max_shift: int = 15
    other_clip_fraction: float = 0.2
    audio_per_video: int = 8
    seed: int = 0


@dataclass
class TrainClip:
    """A training clip: SyncNet-ready frames (T, 224, 224, 3) uint8 BGR and MFCC (13, T_mfcc)."""

    lips: np.ndarray
    mfcc: np.ndarray
    windows: int


def load_training_clips(paths: list[Path]) -> list[TrainClip]:
    """Decode, resize (LSE fullframe224) and featurise every clip (clips too short for a window are skipped
    with a count printed)."""
    from stfbench.media import read_clip

    clips, short = [], 0
    for path in paths:
        clip = read_clip(path)
        windows = num_windows(len(clip.frames), len(clip.audio))
        if windows < 1:
            short += 1
            continue
        clips.append(TrainClip(resize_bgr224(clip.frames), syncnet_mfcc(clip.audio), windows))
    if short:
        print(f"skipped {short} clips shorter than one SyncNet window", file=sys.stderr)
    if len(clips) < 2:
        raise StfbenchError(f"need at least 2 training clips, found {len(clips)}")
    return clips


def sample_batch(clips: list[TrainClip], config: SyncNetTrainConfig, rng: np.random.Generator):
    """B video windows, each with K audio windows: index 0 in sync, 1…K−1 negatives (shifted by 1–15 frames
    within the clip, or from another clip). → lips (B, 3, 5, 224, 224) float BGR 0–255, mfcc (B·K, 1, 13, 20)."""
    lips, audio = [], []
    for _ in range(config.batch_size):
        index = int(rng.integers(len(clips)))
        clip = clips[index]
        v = int(rng.integers(clip.windows))
        lips.append(np.transpose(clip.lips[v : v + WINDOW_FRAMES], (3, 0, 1, 2)))  # (3, 5, 224, 224)
        shifts = [s for s in range(-config.max_shift, config.max_shift + 1) if s and 0 <= v + s < clip.windows]
        for k in range(config.audio_per_video):
            source, a = clip, v
            if k and (not shifts or rng.random() < config.other_clip_fraction):
                source = clips[(index + 1 + int(rng.integers(len(clips) - 1))) % len(clips)]
                a = int(rng.integers(source.windows))
            elif k:
                a = v + int(rng.choice(shifts))
            audio.append(source.mfcc[None, :, a * MFCC_PER_FRAME : a * MFCC_PER_FRAME + MFCC_WINDOW])  # (1, 13, 20)
    return torch.from_numpy(np.stack(lips)).float(), torch.from_numpy(np.stack(audio)).float()


def contrastive_loss(video: torch.Tensor, audio: torch.Tensor, margin: float) -> torch.Tensor:
    """Balanced contrastive loss: mean d² of in-sync pairs + mean max(margin − d, 0)² of the others.

    video (B, E); audio (B·K, E) with the in-sync window first in each group of K; d = Euclidean distance."""
    grouped = audio.view(video.shape[0], -1, audio.shape[1])  # (B, K, E)
    d = torch.linalg.vector_norm(video[:, None, :] - grouped + 1e-6, dim=-1)  # (B, K)
    return d[:, 0].pow(2).mean() + torch.clamp(margin - d[:, 1:], min=0).pow(2).mean()


def train_syncnet(
    clips: list[TrainClip],
    config: SyncNetTrainConfig,
    device: torch.device,
    out: Path,
    command: str,
    log_every: int = 25,
    init: Path | None = None,
) -> Path:
    """Train (from scratch, or on from the checkpoint `init`) and write the checkpoint (fp16 state dict +
    width/config/command) to `out`."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    if init is not None:
        from stfbench.metrics.networks.syncnet import load_syncnet

        model = load_syncnet(init, device).train()
        config.width = model.width
        previous = torch.load(init, map_location="cpu", weights_only=True).get("command", "")
        command = f"{previous} && {command}" if previous else command
    else:
        model = SyncNet(config.width).to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.steps)
    started = time.perf_counter()
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from stfbench.console import Progress

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("syncnet", total=config.steps)
        running = None
        for step in range(1, config.steps + 1):
            lips, mfcc = (t.to(device) for t in sample_batch(clips, config, rng))
            loss = contrastive_loss(model.forward_lip(lips), model.forward_aud(mfcc), config.margin)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
            bar.update(task, advance=1, description=f"syncnet loss {running:.3f}")
            if step % log_every == 0:
                print(f"step {step} loss {running:.4f} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    model.eval()
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    torch.save({"state_dict": state, "width": config.width, "config": asdict(config), "command": command}, tmp)
    tmp.replace(out)
    return out
