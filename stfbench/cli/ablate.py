"""`stfbench ablate`: SyncTalkFace memory-slot or sync-loss ablation — train (or reuse) a variant per setting,
run the protocol for each, write the ablation table and plot."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options
from stfbench.errors import StfbenchError

#: Default slot list and tiny-preset schedule: sized so that `stfbench ablate` on `synthetic` (three
#: trainings + three runs of the test split) finishes within 45 minutes on 2 CPU cores.
DEFAULT_SLOTS = "0,24,96"
TINY_STEPS = 200
TINY_LR = "1e-3"  # the committed synthetic checkpoints' rate: the tiny schedule is minutes, not days
#: Colour SyncNet expert (weight-registry id) used for the A-V sync loss when --expert is not given.
DEFAULT_EXPERTS = {"synthetic": "synctalkface_expert_tiny_synthetic"}


def default_expert(dataset: str) -> str | None:
    """The registered expert file for `dataset` when it is installed, else None (training then asks for one)."""
    from stfbench.weights import entries, locate

    weight_id = DEFAULT_EXPERTS.get(dataset)
    if weight_id is None or weight_id not in entries():
        return None
    path = locate(weight_id)
    return None if path is None else str(path)


def ablate(
    slots: str = typer.Option(
        None, "--slots", help=f"Slot counts, e.g. 96 or 0,24,48,96,120 (0 = memory off; default {DEFAULT_SLOTS})."
    ),
    losses: str = typer.Option(None, "--losses", help="Sync-loss sets, e.g. av,vv,av+vv."),
    dataset: str = options.dataset(),
    preset: str = typer.Option("tiny", "--preset", help="tiny (CPU) or paper (the paper's setting, GPU)."),
    steps: int = typer.Option(
        None,
        "--steps",
        help=f"Training steps per variant (default: {TINY_STEPS} tiny at --lr-g {TINY_LR}, 200000 paper at 1e-4).",
    ),
    batch_size: int = typer.Option(None, "--batch-size", help="Windows per step (default: 8 tiny, 40 paper)."),
    seed: int = options.seed(),
    expert: str = typer.Option(None, "--expert", help="Colour SyncNet expert for the A-V sync loss."),
    out: Path | None = options.out("Output folder (default ablations/<dataset>-<kind>)."),
    root: Path | None = options.root(),
    metrics: str | None = options.metrics(),
    device: str | None = options.device(),
    limit_clips: int | None = options.limit_clips(),
    workers: int = options.workers(),
    train_opt: list[str] = typer.Option(
        [],
        "--train-opt",
        help="Extra `stfbench train` option: --name=value (e.g. --gan-weight=0) or a switch (--vv-detach-gt).",
    ),
    no_progress: bool = options.no_progress(),
) -> None:
    """Train one SyncTalkFace per setting with the same seed, data and schedule; table + plot per metric."""

    from stfbench.console import make_console
    from stfbench.metrics import parse_metric_names
    from stfbench.runner.ablation import AblationConfig, loss_settings, run_ablation, slot_settings

    if slots is not None and losses is not None:
        raise StfbenchError("give one of --slots and --losses, not both")
    if slots is None and losses is None:
        slots = DEFAULT_SLOTS
    settings = slot_settings(slots) if slots is not None else loss_settings(losses)
    paper = preset == "paper"
    extra = {} if paper else {"--lr-g": TINY_LR}  # a --train-opt --lr-g=… overrides it
    for option in train_opt:
        key, sep, value = option.partition("=")
        if not key.startswith("--") or (sep and not value):
            raise StfbenchError(f"--train-opt {option}: expected --name=value or a switch --name")
        extra[key] = value if sep else None
    config = AblationConfig(
        out_dir=out or Path("ablations") / f"{Path(dataset).stem}-{'slots' if slots is not None else 'losses'}",
        settings=settings,
        dataset=dataset,
        preset=preset,
        steps=steps or (200_000 if paper else TINY_STEPS),
        batch_size=batch_size or (40 if paper else 8),
        seed=seed,
        expert=expert or default_expert(dataset),
        root=root,
        metrics=parse_metric_names(metrics) if metrics else None,
        device=device,
        limit_clips=limit_clips,
        extra_train_options=extra,
        show_progress=not no_progress,
        workers=workers,
    )
    from stfbench import prerequisites

    prerequisites.require(
        prerequisites.for_training(
            dataset, root, config.expert, True, config.out_dir, metric_names=config.metrics or []
        )
    )
    run_dirs = run_ablation(config)
    console = make_console()
    console.print((config.out_dir / "ablation.md").read_text(), markup=False, highlight=False)
    console.print(f"{len(run_dirs)} runs; tables and plot in {config.out_dir}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("ablate")(ablate)
