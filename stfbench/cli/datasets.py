"""`stfbench datasets check`: expected vs found clips of a protocol under a dataset root."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options

datasets_app = typer.Typer(help="Inspect dataset roots.", no_args_is_help=True)


@datasets_app.command("check")
def check_command(
    dataset: str = options.dataset(),
    root: Path | None = options.root(),
    list_file: Path | None = options.list_file(),
    decode: bool = typer.Option(False, "--decode", help="Fully decode every clip (finds truncated files; slower)."),
    show: int = typer.Option(10, "--show", help="How many problem clips to list per kind."),
    no_progress: bool = options.no_progress(),
) -> None:
    """Expected vs found, missing, unreadable, wrong fps/sr and no-audio clips of the protocol's dataset; exit 1 if
    the protocol cannot run."""

    from rich.markup import escape
    from rich.table import Table

    from stfbench.console import make_console
    from stfbench.datasets import check_dataset
    from stfbench.protocols import load_protocol

    protocol = load_protocol(dataset)
    report = check_dataset(protocol, root, list_file=list_file, decode=decode, progress=not no_progress)
    console = make_console()
    table = Table(title=escape(f"{protocol.id} v{protocol.version} under {report.root}"))
    table.add_column("check")
    table.add_column("clips", justify="right")
    pinned = protocol.clip_list.count
    table.add_row("expected (protocol)", f"{pinned:,}" if pinned is not None else "not pinned")
    table.add_row("expected (list)", f"{report.expected:,}")
    table.add_row("found", f"{report.found:,}")
    for label, items in (
        ("missing", report.missing),
        ("unreadable", report.unreadable),
        ("wrong fps / sample rate", report.wrong_rate),
        ("no audio", report.no_audio),
    ):
        table.add_row(label, f"[red]{len(items):,}[/]" if items else "0")
    table.add_row("clip list", "[red]does not match[/]" if report.list_error else "[green]verified[/]")
    console.print(table)
    if report.list_error:
        console.print(f"[red]clip list:[/] {escape(report.list_error)}", highlight=False)
    for label, items in (
        ("missing", report.missing),
        ("unreadable", report.unreadable),
        ("wrong rate", report.wrong_rate),
        ("no audio", report.no_audio),
    ):
        for item in items[:show]:
            text = item if isinstance(item, str) else f"{item.clip_id}: {item.reason}"
            console.print(f"  {label}: {text}", markup=False, highlight=False)
        if len(items) > show:
            console.print(f"  … and {len(items) - show:,} more {label}")
    if report.ok:
        console.print(f"[green]ok[/]: protocol {escape(protocol.id)} can run on all {report.found:,} clips")
    else:
        console.print(f"[red]not ready[/]: protocol {escape(protocol.id)} cannot run as pinned on this root")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
