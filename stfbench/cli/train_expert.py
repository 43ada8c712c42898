"""`stfbench train-expert`: train a sync expert on a dataset (SyncNet for synthetic-protocol LSE; colour SyncNet
for the reference model's sync loss, implemented in `stfbench.reference_model.expert`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from stfbench.cli import options
from stfbench.errors import StfbenchError

KINDS = ("syncnet", "color-syncnet")


def train_expert(
    kind: str = typer.Option(..., "--kind", help="syncnet (LSE network) or color-syncnet (reference-model expert)."),
    dataset: str = options.dataset(),
    root: Path | None = options.root(),
    steps: int = typer.Option(None, "--steps", help="Optimiser steps (default: syncnet 300, color-syncnet 1200)."),
    batch_size: int = typer.Option(
        None, "--batch-size", help="Samples per step (default: syncnet 16 video windows, color-syncnet 32)."
    ),
    seed: int = options.seed(),
    out: Path = options.out("Checkpoint to write.", ...),
    device: str | None = options.device(),
    image_size: int = typer.Option(None, "--image-size", help="color-syncnet: face size it trains at."),
    width: float = typer.Option(0.25, "--width", help="syncnet: channel width multiplier (1.0 = SyncNet v2 size)."),
    lr: float = typer.Option(1e-3, "--lr", help="syncnet: Adam learning rate (cosine-annealed)."),
    init: Path = typer.Option(None, "--init", help="syncnet: continue training from this checkpoint."),
    no_progress: bool = options.no_progress(),  # silences the training bar while the command runs
) -> None:
    """Train a sync expert; prints the checkpoint's SHA-256 for the weight registry."""

    from stfbench.console import make_console
    from stfbench.device import resolve_device
    from stfbench.hashing import sha256_file

    if kind not in KINDS:
        raise StfbenchError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    torch_device = resolve_device(device)
    if kind == "color-syncnet":
        from stfbench.reference_model.expert import train_color_syncnet

        options = {"dataset": dataset, "root": root, "seed": seed, "out": out, "device": torch_device}
        given = {"steps": steps, "batch_size": batch_size, "image_size": image_size}
        options.update({key: value for key, value in given.items() if value is not None})
        path = train_color_syncnet(**options)
    else:
        path = _train_syncnet(dataset, root, steps or 300, batch_size or 16, seed, out, torch_device, width, lr, init)
    make_console().print(
        f"wrote {path}  sha256 {sha256_file(path)}  size {Path(path).stat().st_size} B", markup=False, highlight=False
    )


def _train_syncnet(dataset, root, steps, batch_size, seed, out, device, width, lr, init) -> Path:
    from stfbench.metrics.networks.train_syncnet import SyncNetTrainConfig, load_training_clips, train_syncnet

    if dataset != "synthetic":
        raise StfbenchError(f"--kind syncnet trains on the synthetic corpus only (got --dataset {dataset})")
    paths = training_clip_paths(root)
    print(f"loading {len(paths)} training clips", file=sys.stderr)
    clips = load_training_clips(paths)
    config = SyncNetTrainConfig(steps=steps, batch_size=batch_size, lr=lr, width=width, seed=seed)
    words = ["stfbench", "train-expert", "--kind", "syncnet", "--dataset", dataset, "--steps", str(steps)]
    words += ["--batch-size", str(batch_size), "--seed", str(seed), "--width", f"{width:g}", "--lr", f"{lr:g}"]
    words += ["--root", str(root)] if root is not None else []
    words += ["--init", str(init)] if init is not None else []
    command = " ".join(shlex.quote(w) for w in [*words, "--device", str(device), "--out", str(out)])
    return train_syncnet(clips, config, device, out, command, init=init)


def training_clip_paths(root: Path | None) -> list[Path]:
    """The synthetic corpus's train + val clips (lrs2 layout: `main/<speaker>/<clip>.mp4`)."""
    from stfbench.protocols import load_protocol, protocol_root

    base = protocol_root(load_protocol("synthetic"), root)
    paths = []
    for split in ("train", "val"):
        listing = base / f"{split}.txt"
        if not listing.exists():
            raise StfbenchError(f"no {split}.txt: not a synthetic corpus in the lrs2 layout", base)
        for line in listing.read_text().splitlines():
            if line.strip():
                paths.append(base / "main" / f"{line.split()[0]}.mp4")
    return paths


def register(app: typer.Typer) -> None:
    app.command("train-expert")(train_expert)
