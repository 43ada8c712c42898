"""`stfbench cache info|clear`: what stfbench keeps under $STFBENCH_CACHE, and emptying the rebuildable parts."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path

import typer

from stfbench.cli._output import echo_json
from stfbench.cli.options import ListFormat, list_format

cache_app = typer.Typer(
    help="The cache: ground-truth cache, prepared clips, synthetic corpora (list them, clear them).",
    no_args_is_help=True,
)

#: The parts `clear` may remove (each is rebuilt when needed); imported weights and lists are never removed.
PARTS = {
    "gt": "ground-truth landmarks and FID/FVD features, per metric namespace (rebuilt by the next run)",
    "prepared": "prepared clips (face crops, audio) per protocol (rebuilt by `stfbench prepare` or a run)",
    "synthetic": "generated synthetic corpora (rebuilt from their seed)",
}
KEPT = {"weights": "imported weight files (never cleared here)", "lists": "clip lists (never cleared here)"}


class Part(StrEnum):
    gt = "gt"
    prepared = "prepared"
    synthetic = "synthetic"
    all = "all"


def _size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under `folder`."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


def _human(count: int) -> str:
    """Bytes as B, KiB, MiB or GiB."""
    if count < 1024:
        return f"{count} B"
    size, unit = float(count) / 1024, "KiB"
    for larger in ("MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:.1f} {unit}"


@cache_app.command("info")
def info(fmt: ListFormat = list_format()) -> None:
    """Each part of the cache (files, size) and each ground-truth cache namespace: its metric, entries and what
    it stands for (settings, weight SHA-256, library versions, device), as recorded in run manifests."""

    from rich.table import Table
    from rich.text import Text

    from stfbench import paths
    from stfbench.console import make_console
    from stfbench.metrics.gt_cache import folder_summary

    root = paths.cache_dir()
    parts = []
    for name, what in {**PARTS, **KEPT}.items():
        folder = paths.weights_dir() if name == "weights" else root / name
        files, size = _size(folder)
        parts.append({"part": name, "path": str(folder), "files": files, "bytes": size, "what": what})
    namespaces = folder_summary(root / "gt")
    if fmt is ListFormat.json:
        echo_json({"cache": str(root), "parts": parts, "gt_namespaces": namespaces})
        return
    console = make_console()
    table = Table(title=Text(f"cache {root}"), title_justify="left")
    for column in ("part", "files", "size", "what"):
        table.add_column(column, justify="right" if column in ("files", "size") else "left")
    for row in parts:
        table.add_row(Text(row["part"]), str(row["files"]), _human(row["bytes"]), Text(row["what"]))
    console.print(table)
    if namespaces:
        table = Table(title="ground-truth cache namespaces", title_justify="left")
        for column in ("metric", "namespace", "entries", "size", "identity"):
            table.add_column(column, justify="right" if column in ("entries", "size") else "left")
        for row in namespaces:
            identity = ", ".join(f"{k}={v}" for k, v in sorted(_flat(row["identity"]).items()))
            table.add_row(row["metric"], row["namespace"], str(row["entries"]), _human(row["bytes"]), Text(identity))
        console.print(table)


def _flat(identity: dict, prefix: str = "") -> dict[str, str]:
    """Nested identity → dotted keys; SHA-256 values shortened to 12 digits."""
    flat: dict[str, str] = {}
    for key, value in identity.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            text = str(value)
            digest = len(text) == 64 and all(c in "0123456789abcdef" for c in text)
            flat[f"{prefix}{key}"] = text[:12] if digest else text
    return flat


@cache_app.command("clear")
def clear(
    part: Part = typer.Argument(Part.gt, help="gt (default), prepared, synthetic or all (all three)."),
) -> None:
    """Remove a rebuildable part of the cache (imported weights and clip lists are never removed)."""

    from stfbench import paths
    from stfbench.console import make_console

    root = paths.cache_dir()
    console = make_console()
    for name in PARTS if part is Part.all else [part.value]:
        folder = root / name
        files, size = _size(folder)
        if folder.is_dir():
            shutil.rmtree(folder)
        console.print(f"cleared {name}: {files} files, {_human(size)} ({folder})", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
