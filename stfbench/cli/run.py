"""`stfbench run`: generate and score every clip of a protocol with one model (resumable, shardable)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from stfbench.cli import options
from stfbench.errors import StfbenchError

if TYPE_CHECKING:
    from rich.console import Console


def parse_model_options(pairs: list[str]) -> dict[str, object]:
    """`key=value` pairs → options; values are JSON when they parse (3, true, 0.5), else strings."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StfbenchError(f"--model-opt {pair}: expected key=value")
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            options[key.replace("-", "_")] = value
    return options


def slug(text: str) -> str:
    """A folder-safe name: `shifted-audio (k=3)` → `shifted-audio-k3`."""
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", text.replace("=", ""))).strip("-").lower()


def torchrun_shard() -> tuple[int, int] | None:
    """(RANK, WORLD_SIZE) when started by torchrun with more than one process, else None."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return (int(os.environ.get("RANK", "0")), world) if world > 1 else None


def run(
    model: str = typer.Option(
        ..., "--model", "-m", help="Built-in name (see `stfbench models`) or package.module:Class."
    ),
    dataset: str = options.dataset(),
    checkpoint: str | None = options.checkpoint(),
    metrics: str | None = options.metrics(),
    device: str | None = options.device(),
    shard: str = typer.Option(None, "--shard", help="Run slice i/n (items with index mod n == i)."),
    resume: bool = options.resume(),
    overwrite: bool = options.overwrite(),
    keep_videos: bool = typer.Option(False, "--keep-videos", help="Keep generated clips under RUN/videos/."),
    out: Path | None = options.out("Run folder (default runs/<dataset>/<model label>)."),
    root: Path | None = options.root(),
    list_file: Path | None = options.list_file(),
    workers: int = options.workers(),
    gt_cache: bool = options.gt_cache(),
    per_frame: bool = options.per_frame(),
    audio: str = typer.Option(
        "speech",
        "--audio",
        help="speech (the protocol's) or silent: drive every clip with silence of its length (leakage: lipleak).",
    ),
    seed: int = options.seed(),
    label: str = typer.Option(None, "--label", help="Row label in tables (default: the model's)."),
    shift: int = typer.Option(None, "--shift", help="shifted-audio: frames to move the audio (+ = earlier)."),
    outputs_dir: Path = typer.Option(None, "--dir", help="outputs: folder of pre-generated <clip id>.mp4."),
    template: str = typer.Option(None, "--template", help='command: e.g. "python inference.py {video} {audio} {out}".'),
    timeout: float = typer.Option(None, "--timeout", help="command: seconds per clip before it fails."),
    model_opt: list[str] = typer.Option([], "--model-opt", help="Extra adapter option key=value (repeatable)."),
    allow_pickle: Path = typer.Option(
        None,
        "--allow-pickle",
        help="Fully unpickle this one legacy checkpoint file (wav2lip); it can run code: only for files you trust.",
    ),
    trust_unverified: bool = options.trust_unverified(),
    no_progress: bool = options.no_progress(),
    lse_precision: str | None = options.lse_precision(),
    strict: bool = options.strict(),
) -> None:
    """Generate every clip of the protocol with MODEL, score it, and write a run folder."""

    from stfbench.adapters.registry import load_adapter, resolve_adapter_class
    from stfbench.console import make_console
    from stfbench.metrics import parse_metric_names
    from stfbench.runner.config import RunConfig, parse_shard
    from stfbench.runner.merge import merge_shards, wait_for_shards
    from stfbench.runner.run import run_benchmark

    options = {"checkpoint": checkpoint, "shift": shift, "dir": outputs_dir, "template": template, "timeout": timeout}
    options["allow_pickle"] = None if allow_pickle is None else str(allow_pickle)
    options.update(parse_model_options(model_opt))
    if trust_unverified and "trust_unverified" in _init_parameters(resolve_adapter_class(model)):
        options["trust_unverified"] = True
    adapter = load_adapter(model, **options)
    shard_spec = parse_shard(shard) if shard else torchrun_shard()
    launched_by_torchrun = shard is None and shard_spec is not None
    if launched_by_torchrun and device is None:
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    suffix = "" if audio == "speech" else f"-{audio}-audio"
    out_dir = out or Path("runs") / slug(Path(dataset).stem) / (slug(label or adapter.label) + suffix)
    config = RunConfig(
        model=model,
        dataset=dataset,
        out_dir=out_dir,
        model_options={k: v for k, v in options.items() if v is not None},
        root=root,
        list_file=list_file,
        workers=workers,
        gt_cache=gt_cache,
        per_frame=per_frame,
        audio=audio,
        metrics=parse_metric_names(metrics) if metrics else None,
        device=device,
        shard=shard_spec,
        resume=resume,
        overwrite=overwrite,
        keep_videos=keep_videos,
        seed=seed,
        trust_unverified=trust_unverified,
        show_progress=not no_progress,
        label=label,
        lse_precision=lse_precision,
    )
    run_dir = run_benchmark(config, adapter=adapter)
    console = make_console()
    if launched_by_torchrun:
        if shard_spec[0] != 0:
            return
        console.print(f"rank 0: waiting for {shard_spec[1]} shards to finish …")
        wait_for_shards(out_dir, shard_spec[1])
        run_dir = merge_shards(out_dir, device=device, trust_unverified=trust_unverified)
    summary = print_summary(console, run_dir)
    failed = summary["n_expected"] - summary["n_scored"]
    if summary["n_scored"] == 0 or (strict and failed):
        why = "no clip was scored" if summary["n_scored"] == 0 else f"{failed} clips failed (--strict)"
        make_console(stderr=True).print(f"error: {why}", highlight=False, markup=False)
        raise typer.Exit(3)


def print_summary(console: Console, run_dir: Path) -> dict:
    """Print metric means ± CI, counts and failures of a finished run; returns its summary."""
    from rich.markup import escape
    from rich.table import Table

    from stfbench.runner.store import RunStore

    summary = RunStore(run_dir).read_summary()
    table = Table(title=escape(f"{summary['model']['label']} on {summary['protocol']['id']}"))
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("95 % CI", justify="right")
    for key, stats in summary["metrics"].items():
        ci = stats.get("ci95")
        ci_text = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci else ""
        table.add_row(escape(key), "n/a" if stats["mean"] is None else f"{stats['mean']:.3f}", escape(ci_text))
    console.print(table)
    for count in summary.get("counts", {}).values():  # diagnostic counters: counts, not metrics with a CI
        text = f"{count['description']}: {count['total']:,} (in {count['clips']} of {count['n']} clips)"
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    failures = ", ".join(f"{k}: {v}" for k, v in summary["failures"].items()) or "none"
    console.print(f"scored {summary['n_scored']}/{summary['n_expected']} clips; failures: {failures}", markup=False)
    console.print(f"run folder: {run_dir}", highlight=False, markup=False)
    return summary


def _init_parameters(cls: type) -> set[str]:
    import inspect

    return set() if cls.__init__ is object.__init__ else set(inspect.signature(cls.__init__).parameters)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
