"""Ablations: train (or reuse) one SyncTalkFace variant per setting with the same seed, data and schedule,
run the protocol for each, and write the ablation table and plots.

Settings: memory slot counts (`--slots 0,24,48,96,120`; 0 = memory off) or sync-loss sets
(`--losses av,vv,av+vv`: which of the audio-visual and visual-visual sync losses are on). Training goes
through `stfbench train` (a subprocess per setting, so each starts from a clean process); its run folder
is named by a hash of everything that shapes the weights, so a cached checkpoint is reused only when
dataset, preset, schedule, seed, losses and expert are identical. Both training and benchmark runs
resume after an interruption.

Layout of `out/`:
    train/<setting>-<hash>/   last.pt, train_log.jsonl, inference.pt (fp16)
    runs/<setting>/           benchmark run folders (manifest, clips.jsonl, summary)
    ablation.{md,tex,csv,json}, ablation.png
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stfbench.errors import StfbenchError
from stfbench.hashing import sha256_file, sha256_json
from stfbench.runner.config import RunConfig

LOSS_SETS = {"av": (True, False), "vv": (False, True), "av+vv": (True, True)}


@dataclass(frozen=True)
class Setting:
    """One ablation variant: a row label, a folder name and the `stfbench train` options it changes."""

    label: str
    name: str
    train_options: dict[str, str]
    slots: int | None = None


@dataclass
class AblationConfig:
    """What is ablated and the shared schedule every variant is trained with."""

    out_dir: Path
    settings: list[Setting]
    dataset: str = "synthetic"
    preset: str = "tiny"
    steps: int = 120
    batch_size: int = 8
    seed: int = 0
    expert: str | None = None
    root: Path | None = None
    metrics: list[str] | None = None
    device: str | None = None
    limit_clips: int | None = None
    extra_train_options: dict[str, str | None] = field(default_factory=dict)  # None = a switch without value
    show_progress: bool = True
    workers: int = 1  # processes preparing the protocol's clips for the runs (0: one per CPU core)


def slot_settings(text: str) -> list[Setting]:
    """`"0,24,96"` → one setting per slot count (0 = memory off)."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise StfbenchError(f"--slots {text}: expected comma-separated integers, e.g. 0,24,48,96,120") from None
    if not counts or any(c < 0 for c in counts) or len(set(counts)) != len(counts):
        raise StfbenchError(f"--slots {text}: need distinct counts ≥ 0")
    return [
        Setting("no memory" if c == 0 else f"{c} slots", f"slots-{c}", {"--slots": str(c)}, slots=c) for c in counts
    ]


def loss_settings(text: str) -> list[Setting]:
    """`"av,vv,av+vv"` → one setting per sync-loss set (the other sync loss gets weight 0)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in LOSS_SETS]
    if unknown or not names:
        raise StfbenchError(f"--losses {text}: choose from {', '.join(LOSS_SETS)}")
    settings = []
    for name in names:
        av, vv = LOSS_SETS[name]
        options = {}
        if not av:
            options["--av-weight"] = "0"
        if not vv:
            options["--vv-weight"] = "0"
        label = {"av": "L_a-v only", "vv": "L_v-v only", "av+vv": "L_a-v + L_v-v"}[name]
        settings.append(Setting(label, "losses-" + name.replace("+", "-"), options))
    return settings


def train_folder(config: AblationConfig, setting: Setting) -> Path:
    """`train/<setting>-<hash>`: the hash covers everything that shapes the trained weights."""
    expert_digest = None
    if config.expert and Path(config.expert).is_file():
        expert_digest = sha256_file(config.expert)
    identity = {
        "dataset": config.dataset,
        "root": str(config.root) if config.root else None,
        "preset": config.preset,
        "steps": config.steps,
        "batch_size": config.batch_size,
        "seed": config.seed,
        "limit_clips": config.limit_clips,
        "expert": expert_digest or config.expert,
        "options": {**config.extra_train_options, **setting.train_options},
    }
    return Path(config.out_dir) / "train" / f"{setting.name}-{sha256_json(identity)[:10]}"


def train_command(config: AblationConfig, setting: Setting, folder: Path) -> list[str]:
    """The `stfbench train` command line for one setting."""
    command = [sys.executable, "-m", "stfbench", "train", "--model", "synctalkface", "--dataset", config.dataset]
    command += ["--out", str(folder), "--preset", config.preset, "--steps", str(config.steps)]
    command += ["--batch-size", str(config.batch_size), "--seed", str(config.seed)]
    command += ["--export", str(folder / "inference.pt")]
    if config.expert:
        command += ["--expert", str(config.expert)]
    if config.root:
        command += ["--root", str(config.root)]
    if config.device:
        command += ["--device", config.device]
    if config.limit_clips:
        command += ["--limit-clips", str(config.limit_clips)]
    if not config.show_progress:
        command += ["--no-progress"]
    for key, value in {**config.extra_train_options, **setting.train_options}.items():
        command += [key] if value is None else [key, value]  # None: a switch such as --vv-detach-gt
    return command


def train_setting(config: AblationConfig, setting: Setting) -> Path:
    """Train one variant (resuming, or reusing a finished identical run); returns its inference checkpoint."""
    folder = train_folder(config, setting)
    checkpoint = folder / "inference.pt"
    if checkpoint.is_file():
        return checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(train_command(config, setting, folder), stderr=subprocess.PIPE)
    tail = b""
    for chunk in iter(lambda: process.stderr.read1(4096), b""):  # show progress live, keep the tail for errors
        sys.stderr.buffer.write(chunk)
        sys.stderr.buffer.flush()
        tail = (tail + chunk)[-2000:]
    returncode = process.wait()
    if returncode != 0 or not checkpoint.is_file():
        lines = [line.strip() for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
        raise StfbenchError(f"training {setting.label} failed (exit {returncode}): {' | '.join(lines[-3:])}", folder)
    return checkpoint


def run_ablation(config: AblationConfig, **run_overrides: Any) -> list[Path]:
    """Train and benchmark every setting; write the table and plots; return the run folders in order.

    `run_overrides` are passed to `run_benchmark` (tests inject clip sources or metric factories)."""
    from stfbench.runner.run import run_benchmark

    run_dirs = []
    for setting in config.settings:
        checkpoint = train_setting(config, setting)
        run_config = RunConfig(
            model="synctalkface",
            dataset=config.dataset,
            out_dir=Path(config.out_dir) / "runs" / setting.name,
            model_options={"checkpoint": str(checkpoint)},
            root=config.root,
            metrics=config.metrics,
            device=config.device,
            resume=True,
            seed=config.seed,
            show_progress=config.show_progress,
            workers=config.workers,
            label=setting.label,
        )
        run_dirs.append(run_benchmark(run_config, **run_overrides))
    write_outputs(config, run_dirs)
    return run_dirs


def write_outputs(config: AblationConfig, run_dirs: list[Path]) -> None:
    """ablation.{md,tex,csv,json} (rows = settings in the given order) and, for slot ablations, ablation.png."""
    from stfbench.leaderboard import build_leaderboard, render
    from stfbench.runner.store import write_atomic, write_json

    board = build_leaderboard(run_dirs, models=[s.label for s in config.settings])
    board.footnotes.insert(0, schedule_note(config))
    out = Path(config.out_dir)
    for fmt, suffix in (("markdown", "md"), ("latex", "tex"), ("csv", "csv"), ("json", "json")):
        write_atomic(out / f"ablation.{suffix}", render(board, fmt).encode("utf-8"))
    write_json(out / "ablation_config.json", {**asdict(config), "settings": [asdict(s) for s in config.settings]})
    if all(s.slots is not None for s in config.settings) and len(config.settings) > 1:
        plot_against_slots(board, config.settings, out / "ablation.png")


def schedule_note(config: AblationConfig) -> str:
    """The training schedule every variant shares (steps, batch, learning rate, seed, extra options): the
    first note of the ablation table, so its caption says how the compared models were trained."""
    from stfbench.reference_model.config import TrainConfig

    options = dict(config.extra_train_options)
    default_lr = f"{TrainConfig.lr_generator:.0e}".replace("e-0", "e-")  # `stfbench train`'s default: 1e-4
    lr = options.pop("--lr-g", None) or default_lr
    note = (
        f"Every variant: SyncTalkFace {config.preset} trained {config.steps:,} steps × batch {config.batch_size} "
        f"(5-frame windows) at generator lr {lr} (Adam), seed {config.seed}"
    )
    if config.limit_clips:
        note += f", on the first {config.limit_clips} training clips"
    if options:
        note += "; train options " + " ".join(k if v is None else f"{k}={v}" for k, v in options.items())
    return note + "."


def plot_against_slots(board: Any, settings: list[Setting], path: Path) -> Path:
    """One panel per metric: value (± 95 % CI) against the number of memory slots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    group = board.groups[0]
    columns = [c for c in group.columns if c.direction]
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 3.0), squeeze=False)
    rows = {r.label: r for r in board.rows}
    slots = [s.slots for s in settings]
    for axis, column in zip(axes[0], columns, strict=True):
        cells = [rows[s.label].cells.get((group.id, column.key)) for s in settings]
        means = [c.mean if c is not None else float("nan") for c in cells]
        errors = [
            [m - c.ci95[0] if c and c.ci95 else 0 for m, c in zip(means, cells, strict=True)],
            [c.ci95[1] - m if c and c.ci95 else 0 for m, c in zip(means, cells, strict=True)],
        ]
        axis.errorbar(slots, means, yerr=errors, marker="o", capsize=3)
        axis.set_xlabel("memory slots")
        axis.set_title(f"{column.display} {column.direction}")
        axis.set_xticks(slots)
    fig.suptitle(f"SyncTalkFace slot ablation on {group.id}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
