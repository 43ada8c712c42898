"""`stfbench models`: list the selectable models (built-ins, controls, installed entry points)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def models() -> None:
    """List built-in models and controls, and models other packages register (entry points `stfbench.models`)."""
    from stfbench.adapters.registry import BUILTIN_MODELS, ENTRY_POINT_GROUP, available_models

    table = Table(title="models (--model NAME, or package.module:Class)")
    table.add_column("name")
    table.add_column("class")
    table.add_column("what")
    for name, target in available_models().items():
        description = BUILTIN_MODELS[name][1] if name in BUILTIN_MODELS else f"entry point ({ENTRY_POINT_GROUP})"
        table.add_row(name, target, description)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("models")(models)
