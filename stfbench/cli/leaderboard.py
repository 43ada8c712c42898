"""`stfbench leaderboard`: paper-style tables (LaTeX/Markdown/CSV/JSON) from run folders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from stfbench.errors import StfbenchError

if TYPE_CHECKING:
    from stfbench.leaderboard import Leaderboard


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
    ci: bool = typer.Option(
        False, "--ci", help="Show ± half-width of the 95 % bootstrap CI (LaTeX: on a second, smaller line)."
    ),
    relative_to: str = typer.Option(
        None,
        "--relative-to",
        help="Row label of a ground-truth run (e.g. ground-truth): add ΔLSE-D, ΔLSE-C, ΔAV offset = |m − m_GT|.",
    ),
    fragment: bool = typer.Option(False, "--fragment", help="LaTeX: only the table environment."),
    caption: str = typer.Option(None, "--caption", help="Text placed before the generated caption."),
    width: str = typer.Option(
        None,
        "--width",
        help="LaTeX: scale the table to this width (linewidth, columnwidth, textwidth or e.g. 8.5cm; needs graphicx).",
    ),
) -> None:
    """Write a table of RUN_DIRS: models as rows, protocols as column groups, best value bold."""
    from stfbench.leaderboard import FORMATS, build_leaderboard, render
    from stfbench.leaderboard.render import latex_width
    from stfbench.runner.store import write_atomic

    if fmt not in FORMATS:
        raise StfbenchError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    if width is not None:
        if fmt != "latex":
            raise StfbenchError(f"--width is for --format latex, not {fmt}")
        try:
            latex_width(width)
        except ValueError as error:
            raise StfbenchError(str(error)) from None
    board = build_leaderboard(
        find_run_dirs(run_dirs),
        metrics=_split(metrics),
        protocols=_split(protocols),
        models=_split(models),
        show_ci=ci,
        relative_to=relative_to,
    )
    text = render(board, fmt, standalone=not fragment, caption=caption, width=width)
    if fmt == "latex" and fragment and width is None:
        _hint_width(board)
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text.encode("utf-8"))


def _hint_width(board: Leaderboard) -> None:
    """On stderr: a fragment wider than a two-column paper's column, and how to fit it."""

    from stfbench.console import make_console
    from stfbench.leaderboard.render import COLUMN_PT, estimate_width_pt

    natural = estimate_width_pt(board)
    if natural > COLUMN_PT:
        make_console(stderr=True).print(
            f"note: the table is about {natural:.0f} pt wide, a two-column paper's column {COLUMN_PT:.0f} pt: "
            "--width columnwidth scales it to fit (or use table* for the full text width)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("leaderboard")(leaderboard)
