"""`stfbench merge`: join the shard folders of a run into one run (FID from pooled statistics)."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options


def merge(
    run_dir: Path = typer.Argument(..., help="Run folder holding shard-i-of-n/ folders."),
    device: str | None = options.device(),
    trust_unverified: bool = options.trust_unverified(),
) -> None:
    """Merge complete shards into RUN_DIR: records in protocol order, merged metric statistics, one summary
    (dataset-level metrics are rebuilt on --device)."""

    from stfbench.cli.run import print_summary
    from stfbench.console import make_console
    from stfbench.runner.merge import merge_shards

    merged = merge_shards(run_dir, device=device, trust_unverified=trust_unverified)
    print_summary(make_console(), merged)


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)
