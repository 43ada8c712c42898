"""Strict JSON on stdout for the listing commands' `--format json` (`options.list_format`)."""

from __future__ import annotations

import json
from typing import Any

import typer


def echo_json(data: Any) -> None:
    """Print `data` as strict JSON (no NaN/Infinity) on stdout."""
    typer.echo(json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False))
