"""`stfbench doctor`: the prerequisites table of a run (dataset, list, checkpoint, weights, output folder)
without running anything."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options


def doctor(
    dataset: str = options.dataset(),
    model: str = typer.Option(None, "--model", "-m", help="Model whose files to check (see `stfbench models`)."),
    checkpoint: str | None = options.checkpoint(),
    metrics: str | None = options.metrics(),
    root: Path | None = options.root(),
    list_file: Path | None = options.list_file(),
    out: Path | None = options.out("Run folder to check for writing."),
    trust_unverified: bool = options.trust_unverified(),
    output_format: options.ListFormat = options.list_format(),
) -> None:
    """Check everything `stfbench run` would need and print one table; exit 2 when something is missing."""
    import json

    from stfbench import prerequisites
    from stfbench.console import make_console
    from stfbench.metrics import parse_metric_names
    from stfbench.protocols import load_protocol

    protocol = load_protocol(dataset)
    adapter = None
    if model is not None:
        from stfbench.adapters.registry import load_adapter

        adapter = load_adapter(model, **({"checkpoint": checkpoint} if checkpoint else {}))
    names = parse_metric_names(metrics) if metrics else None
    checks = prerequisites.for_run(
        protocol, adapter, names, root=root, list_file=list_file, out=out, trust_unverified=trust_unverified
    )
    if output_format is options.ListFormat.json:
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2, allow_nan=False))
    else:
        make_console().print(prerequisites.render(checks))
    if any(not c.ok for c in checks):
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
