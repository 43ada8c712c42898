"""`stfbench leaderboard`: paper-style tables (LaTeX/Markdown/CSV/JSON) from run folders."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.errors import StfbenchError


def find_run_dirs(paths: list[Path]) -> list[Path]:
    """Each path that is a finished run, or the finished runs below it (shard folders skipped), sorted."""
    found: list[Path] = []
    for path in paths:
        if (path / "summary.json").exists():
            found.append(path)
            continue
        below = sorted(p.parent for p in path.rglob("summary.json") if not p.parent.name.startswith("shard-"))
        if not below:
            raise StfbenchError("no finished run (summary.json) in this folder", path)
        found.extend(below)
    return found


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def leaderboard(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders (or folders holding runs)."),
    fmt: str = typer.Option("markdown", "--format", "-f", help="latex, markdown, csv or json."),
    out: Path = typer.Option(None, "--out", "-o", help="Write here (atomically) instead of stdout."),
    metrics: str = typer.Option(None, "--metrics", help="Columns in order, e.g. psnr,ssim,lmd,lse_d,lse_c."),
    protocols: str = typer.Option(None, "--protocols", help="Column groups in order (protocol ids)."),
    models: str = typer.Option(None, "--models", help="Rows in order (row labels)."),
    ci: bool = typer.Option(False, "--ci", help="Show ± half-width of the 95 % bootstrap CI."),
    fragment: bool = typer.Option(False, "--fragment", help="LaTeX: only the table environment."),
    caption: str = typer.Option(None, "--caption", help="Text placed before the generated caption."),
) -> None:
    """Write a table of RUN_DIRS: models as rows, protocols as column groups, best value bold."""
    from stfbench.leaderboard import FORMATS, build_leaderboard, render
    from stfbench.runner.store import write_atomic

    if fmt not in FORMATS:
        raise StfbenchError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    board = build_leaderboard(
        find_run_dirs(run_dirs), metrics=_split(metrics), protocols=_split(protocols), models=_split(models), show_ci=ci
    )
    text = render(board, fmt, standalone=not fragment, caption=caption)
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text.encode("utf-8"))


def register(app: typer.Typer) -> None:
    app.command("leaderboard")(leaderboard)
