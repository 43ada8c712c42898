"""`--format table|json` for the listing commands (`weights list`, `protocols list`, `models`, `info`): a rich
table for people by default, strict JSON on stdout for scripts."""

from __future__ import annotations

import enum
import json
from typing import Any

import typer


class ListFormat(enum.StrEnum):
    """Output of a listing command."""

    table = "table"
    json = "json"


def format_option() -> Any:
    """The shared `--format` option (default: table)."""
    return typer.Option(ListFormat.table, "--format", help="table (for reading) or json (strict JSON on stdout).")


def echo_json(data: Any) -> None:
    """Print `data` as strict JSON (no NaN/Infinity) on stdout."""
    typer.echo(json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False))
