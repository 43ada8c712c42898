"""`stfbench train`: train SyncTalkFace (the colour expert is trained by `stfbench train-expert --kind color-syncnet`,
which calls `stfbench.reference_model.expert.train_color_syncnet`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from stfbench.cli import options


def train(
    dataset: str = options.dataset(),  # its train split; its val split for validation
    out: Path = options.out("Run directory; holds last.pt and train_log.jsonl, resumed if present.", ...),
    model: str = typer.Option(
        "synctalkface", "--model", "-m", help="synctalkface, or wav2lip (its own L1 + sync recipe)."
    ),
    width_mult: float = typer.Option(1.0, "--width-mult", help="wav2lip: channel multiplier (1.0 = public layout)."),
    root: Path | None = options.root(),
    preset: str = typer.Option("tiny", "--preset", help="tiny (96 px, ≈2 M params) or paper (128 px, ≈53 M)."),
    slots: int | None = typer.Option(None, "--slots", help="Memory slots (0 = memory off). Default: preset's 96."),
    kappa: float | None = typer.Option(None, "--kappa", help="Addressing scale κ (default 16)."),
    paper_training_path: bool = typer.Option(
        False, "--paper-training-path", help="Î_G from the raw lip feature (paper) instead of the value recall (code)."
    ),
    fusion_dropout: float | None = typer.Option(
        None, "--fusion-dropout", help="Dropout before the memory's fusion layer (default 0.5, the released code)."
    ),
    memory_init: str = typer.Option(
        "random",
        "--memory-init",
        help="Memory slots: random N(0, 0.5²) (code) or data (projected features of S training frames).",
    ),
    address_norm: str = typer.Option(
        "none",
        "--address-norm",
        help="none (code) or batch: centre the projected queries with a BatchNorm before addressing (stfbench).",
    ),
    train_path_audio: str = typer.Option(
        "keep", "--train-path-audio", help="keep (paper, code) or drop: Î_G is made from the lip feature alone."
    ),
    upsample_init: str = typer.Option(
        "default",
        "--upsample-init",
        help="Decoder's stride-2 transposed convs: default (torch's init, code) or bilinear (checkerboard-free start).",
    ),
    vv_detach_gt: bool = typer.Option(
        False, "--vv-detach-gt", help="VV loss moves only the generated frames, not the lip encoder's GT branch."
    ),
    paper_store_loss: bool = typer.Option(
        False, "--paper-store-loss", help="Store loss against raw f_lip (paper) instead of v_embd(f_lip) (code)."
    ),
    expert: Path | None = typer.Option(
        None, "--expert", help="Colour SyncNet expert checkpoint (required for AV loss)."
    ),
    recon_weight: float = typer.Option(10.0, "--recon-weight", help="L1 reconstruction loss weight."),
    laplacian_weight: float = typer.Option(
        0.0, "--laplacian-weight", help="L1 of the frames' Laplacians (0 = off, as the code; fights checkerboard)."
    ),
    av_weight: float = typer.Option(0.2, "--av-weight", help="Audio-visual sync loss weight (0 = off, no expert)."),
    vv_weight: float = typer.Option(0.2, "--vv-weight", help="Visual-visual sync loss weight (0 = off)."),
    gan_weight: float = typer.Option(0.2, "--gan-weight", help="0 = no discriminator."),
    memory_weight: float = typer.Option(0.2, "--memory-weight", help="Weight of store + align losses."),
    steps: int = typer.Option(1000, "--steps", help="Optimiser steps in all (a resumed run continues to this)."),
    batch_size: int = typer.Option(8, "--batch-size", help="5-frame windows per step (per process)."),
    lr_g: float = typer.Option(1e-4, "--lr-g", help="Generator learning rate (Adam)."),
    lr_d: float = typer.Option(5e-4, "--lr-d", help="Discriminator learning rate (Adam)."),
    grad_clip: float = typer.Option(0.0, "--grad-clip", help="Max gradient L2 norm (0 = off)."),
    lr_schedule: str = typer.Option(
        "constant", "--lr-schedule", help="constant (released code) or cosine (decays to --lr-final-ratio × lr)."
    ),
    lr_final_ratio: float = typer.Option(
        0.05, "--lr-final-ratio", help="cosine: learning rate at the last step as a fraction of the first."
    ),
    seed: int = options.seed(),
    amp: bool = typer.Option(True, "--amp/--no-amp", help="Mixed precision on CUDA."),
    device: str | None = options.device(),
    limit_clips: int | None = options.limit_clips(),
    log_every: int = typer.Option(10, "--log-every", help="Log the losses every N steps."),
    checkpoint_every: int = typer.Option(200, "--checkpoint-every", help="Save last.pt every N steps."),
    validate_every: int = typer.Option(0, "--validate-every", help="0 = validate at the end only."),
    export: Path | None = typer.Option(None, "--export", help="Also write an fp16 inference-only checkpoint here."),
    plot: bool = typer.Option(False, "--plot", help="Write loss curves to <out>/losses.png."),
    no_progress: bool = options.no_progress(),  # silences the training bars while the command runs
) -> None:
    """Train SyncTalkFace (any slot count) on a dataset's prepared face crops; resumes an interrupted run."""

    from stfbench.console import make_console
    from stfbench.device import resolve_device
    from stfbench.errors import StfbenchError
    from stfbench.reference_model.config import LossConfig, RunInfo, TrainConfig, model_preset
    from stfbench.reference_model.dataset import load_training_clips
    from stfbench.reference_model.recipes import SyncTalkFaceTask, load_expert
    from stfbench.reference_model.training import Trainer, seed_everything

    console = make_console(stderr=True)
    if model == "wav2lip":
        from stfbench.adapters.wav2lip.training import train_wav2lip

        validation = train_wav2lip(
            dataset, out, width_mult=width_mult, steps=steps, batch_size=batch_size, lr=lr_g, seed=seed,
            sync_weight=av_weight, expert=expert, root=root, limit_clips=limit_clips, device=device,
            checkpoint_every=checkpoint_every, log_every=log_every, export=export,
            lr_schedule=lr_schedule, lr_final_ratio=lr_final_ratio,
        )  # fmt: skip
        console.print("validation " + ", ".join(f"{k} {v:.4f}" for k, v in validation.items()))
        return
    if model != "synctalkface":
        raise StfbenchError(f"--model {model}: choose synctalkface or wav2lip")
    overrides = {
        "slots": slots,
        "kappa": kappa,
        "train_lip_source": "raw" if paper_training_path else None,
        "memory_init": memory_init,
        "fusion_dropout": fusion_dropout,
        "address_norm": address_norm,
        "train_path_audio": train_path_audio,
        "upsample_init": upsample_init,
    }
    config = model_preset(preset, **{k: v for k, v in overrides.items() if v is not None})
    loss = LossConfig(
        recon_weight,
        av_weight,
        vv_weight,
        gan_weight,
        memory_weight,
        "raw" if paper_store_loss else "projected",
        "detached" if vv_detach_gt else "live",
        laplacian_weight,
    )
    train_config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr_generator=lr_g,
        lr_discriminator=lr_d,
        grad_clip=grad_clip,
        lr_schedule=lr_schedule,
        lr_final_ratio=lr_final_ratio,
        amp=amp,
        seed=seed,
        log_every=log_every,
        checkpoint_every=checkpoint_every,
        validate_every=validate_every,
    )
    from stfbench import prerequisites

    prerequisites.require(prerequisites.for_training(dataset, root, expert, av_weight > 0, out))
    sync_expert, expert_sha = load_expert(expert, config.image_size) if av_weight > 0 else (None, None)
    torch_device = resolve_device(device)
    clips = load_training_clips(
        dataset, "train", config.image_size, config.mel_offset_frames, root, limit_clips, console
    )
    val_clips = load_training_clips(dataset, "val", config.image_size, config.mel_offset_frames, root, 8, console)
    seed_everything(seed)
    task = SyncTalkFaceTask(config, loss, clips, val_clips, sync_expert, expert_sha)
    if sync_expert is not None:
        sync_expert.to(torch_device)
    trainer = Trainer(task, train_config, out, torch_device, RunInfo(sys.argv, dataset, seed))
    _finish(trainer, trainer.run(), out, export, plot, console)


def _finish(trainer, validation: dict, out: Path, export: Path | None, plot: bool, console) -> None:
    from stfbench.reference_model.checkpoint import export_inference
    from stfbench.reference_model.plots import plot_losses

    numbers = ", ".join(f"{k} {v:.4f}" for k, v in validation.items()) or "no validation clips"
    console.print(f"step {trainer.step}: validation {numbers}; checkpoint {trainer.checkpoint_path}", markup=False)
    if export is not None:
        export_inference(trainer.state(), ["generator"], export, drop=("generator.lip_encoder.",))
        console.print(f"inference checkpoint (fp16) → {export}", markup=False)
    if plot:
        console.print(f"loss curves → {plot_losses(trainer.log_path, out / 'losses.png')}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
