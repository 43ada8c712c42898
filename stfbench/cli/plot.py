"""`stfbench plot sync RUN CLIP`: figures drawn from a finished run's per-frame files."""

from __future__ import annotations

from pathlib import Path

import typer

plot_app = typer.Typer(
    help="Figures from a run's per-frame files (score or run with --per-frame).", no_args_is_help=True
)


@plot_app.command("sync")
def sync(
    run_dir: Path = typer.Argument(..., help="A run or score folder written with --per-frame."),
    clip: str = typer.Argument(..., help="Clip id, as in the run's clips.jsonl."),
    out: Path = typer.Option(None, "--out", "-o", help="PNG to write (default RUN/plots/sync_<clip>.png)."),
) -> None:
    """Draw the clip's SyncNet offset curve and its per-frame sync confidence over time (PNG)."""
    from urllib.parse import quote

    from stfbench.console import make_console
    from stfbench.runner.plots import plot_sync
    from stfbench.runner.store import RunStore

    document = RunStore(run_dir).read_per_frame(clip)
    target = out or run_dir / "plots" / f"sync_{quote(clip, safe='')}.png"
    path = plot_sync(document, target)
    make_console().print(f"wrote {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(plot_app, name="plot")
