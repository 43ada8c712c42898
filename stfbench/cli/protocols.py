"""`stfbench protocols list|show`: the shipped test protocols and their pinned content."""

from __future__ import annotations

import json

import typer

from stfbench.cli._output import echo_json
from stfbench.cli.options import ListFormat, list_format

protocols_app = typer.Typer(help="List and show test protocols.", no_args_is_help=True)


@protocols_app.command("list")
def list_command(fmt: ListFormat = list_format()) -> None:
    """Table of the shipped protocols: id, version, dataset/split, clips, pairing, metrics, hash."""

    from rich.markup import escape
    from rich.table import Table

    from stfbench.console import make_console
    from stfbench.protocols import list_protocols, load_protocol

    rows = []
    for name in list_protocols():
        protocol = load_protocol(name)
        rows.append(
            {
                "id": protocol.id,
                "version": str(protocol.version),
                "dataset": protocol.dataset,
                "split": protocol.split,
                "clips": protocol.clip_list.count,  # None: not pinned
                "pairing": protocol.pairing.mode,
                "metrics": list(protocol.metrics.names),
                "hash": protocol.hash,
            }
        )
    if fmt is ListFormat.json:
        echo_json({"protocols": rows})
        return
    table = Table(title="stfbench protocols")
    table.add_column("id", no_wrap=True)
    for column in ("version", "dataset", "split", "clips", "pairing", "metrics", "hash"):
        table.add_column(column)
    for row in rows:
        clips = f"{row['clips']:,}" if row["clips"] is not None else "generated"
        cells = [row["id"], row["version"], row["dataset"], row["split"], clips, row["pairing"]]
        table.add_row(*(escape(c) for c in [*cells, ",".join(row["metrics"]), row["hash"][:12]]))
    make_console().print(table)


@protocols_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Protocol id or path to a protocol TOML file."),
    as_json: bool = typer.Option(False, "--json", help="Print the canonical content as JSON."),
) -> None:
    """Print one protocol's full content and hash."""

    from rich.markup import escape

    from stfbench.console import make_console
    from stfbench.protocols import load_protocol

    protocol = load_protocol(name)
    if as_json:
        typer.echo(json.dumps({**protocol.to_dict(), "hash": protocol.hash}, indent=2, sort_keys=True, allow_nan=False))
        return
    console = make_console()
    console.print(f"[bold]{escape(protocol.id)}[/] v{protocol.version} — {escape(protocol.description)}")
    console.print(f"hash {protocol.hash}  (file {protocol.source_path})", markup=False)
    for section, values in protocol.to_dict().items():
        if isinstance(values, dict):
            console.print(f"[bold]{escape(section)}[/]")
            for key, value in values.items():
                console.print(f"  {key} = {value}", markup=False, highlight=False)
        elif section not in ("id", "version", "description"):
            console.print(f"{section} = {values}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(protocols_app, name="protocols")
