"""`stfbench models`: list the selectable models (built-ins, controls, installed entry points)."""

from __future__ import annotations

import typer

from stfbench.cli._output import echo_json
from stfbench.cli.options import ListFormat, list_format


def models(fmt: ListFormat = list_format()) -> None:
    """List built-in models and controls, and models other packages register (entry points `stfbench.models`)."""

    from rich.markup import escape
    from rich.table import Table

    from stfbench.adapters.registry import BUILTIN_MODELS, ENTRY_POINT_GROUP, available_models
    from stfbench.console import make_console

    rows = [
        {
            "name": name,
            "class": target,
            "description": BUILTIN_MODELS[name][1] if name in BUILTIN_MODELS else f"entry point ({ENTRY_POINT_GROUP})",
        }
        for name, target in available_models().items()
    ]
    if fmt is ListFormat.json:
        echo_json({"models": rows})
        return
    table = Table(title="models (--model NAME, or package.module:Class)")
    for column in ("name", "class", "what"):
        table.add_column(column)
    for row in rows:
        table.add_row(escape(row["name"]), escape(row["class"]), escape(row["description"]))
    make_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("models")(models)
