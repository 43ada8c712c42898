"""`stfbench merge`: join the shard folders of a run into one run (FID from pooled statistics)."""

from __future__ import annotations

from pathlib import Path

import typer


def merge(
    run_dir: Path = typer.Argument(..., help="Run folder holding shard-i-of-n/ folders."),
    device: str = typer.Option(None, "--device", help="Device for rebuilding dataset-level metrics."),
    trust_unverified: bool = typer.Option(False, "--trust-unverified", help="Use weights whose SHA-256 differs."),
) -> None:
    """Merge complete shards into RUN_DIR: records in protocol order, merged metric statistics, one summary."""

    from stfbench.cli.run import print_summary
    from stfbench.console import make_console
    from stfbench.runner.merge import merge_shards

    merged = merge_shards(run_dir, device=device, trust_unverified=trust_unverified)
    print_summary(make_console(), merged)


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)
