"""`stfbench doctor`: the prerequisites table of a run (dataset, list, checkpoint, weights, output folder)
without running anything."""

from __future__ import annotations

from pathlib import Path

import typer


def doctor(
    dataset: str = typer.Option("synthetic", "--dataset", "-d", help="Protocol name or .toml path."),
    model: str = typer.Option(None, "--model", "-m", help="Model whose files to check (see `stfbench models`)."),
    checkpoint: str = typer.Option(None, "--checkpoint", help="Model checkpoint file or weight-registry id."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated metrics (default: the protocol's)."),
    root: Path = typer.Option(None, "--root", help="Dataset root (default: $STFBENCH_<DATASET>_ROOT)."),
    list_file: Path = typer.Option(None, "--list-file", help="Clip list or pairs file (default: found in the root)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder to check for writing."),
    trust_unverified: bool = typer.Option(False, "--trust-unverified", help="Accept weights whose SHA-256 differs."),
    output_format: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Check everything `stfbench run` would need and print one table; exit 2 when something is missing."""
    import json

    from stfbench import prerequisites
    from stfbench.console import make_console
    from stfbench.errors import StfbenchError
    from stfbench.metrics import parse_metric_names
    from stfbench.protocols import load_protocol

    if output_format not in ("table", "json"):
        raise StfbenchError(f"--format {output_format}: choose table or json")
    protocol = load_protocol(dataset)
    adapter = None
    if model is not None:
        from stfbench.adapters.registry import load_adapter

        adapter = load_adapter(model, **({"checkpoint": checkpoint} if checkpoint else {}))
    names = parse_metric_names(metrics) if metrics else None
    checks = prerequisites.for_run(
        protocol, adapter, names, root=root, list_file=list_file, out=out, trust_unverified=trust_unverified
    )
    if output_format == "json":
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2, allow_nan=False))
    else:
        make_console().print(prerequisites.render(checks))
    if any(not c.ok for c in checks):
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
