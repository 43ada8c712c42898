"""Output for logs: no wrapping when not a terminal, progress as plain lines."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stfbench.console import Progress, make_console, progress_line

URL = "https://example.org/" + "a" * 200 + "/weights.pth"


def test_a_console_that_is_not_a_terminal_keeps_long_cells_whole(capsys) -> None:
    console = make_console()
    table = Table()
    table.add_column("source", overflow="fold")
    table.add_row(URL)
    console.print(table)
    console.print(f"get it from {URL}")
    out = capsys.readouterr().out
    assert sum(URL in line for line in out.splitlines()) == 2


def test_progress_in_a_log_prints_plain_lines_with_rate_and_eta() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=60)
    with Progress(console=console, log_every=0.0) as progress:
        task = progress.add_task(escape("scoring [crop]"), total=4)  # descriptions are markup
        for _ in range(4):
            progress.advance(task)
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("scoring [crop]: 1/4 (25 %)")
    assert lines[-1].startswith("scoring [crop]: 4/4 (100 %)")
    assert len(lines) == 4 and all("/s" in line for line in lines)
    assert "ETA" in lines[0]


def test_disabled_progress_prints_nothing() -> None:
    buffer = io.StringIO()
    with Progress(console=Console(file=buffer, force_terminal=False), disable=True, log_every=0.0) as progress:
        task = progress.add_task("work", total=2)
        progress.advance(task, 2)
    assert buffer.getvalue() == ""


def test_progress_line_formats() -> None:
    assert progress_line("x", 0, 10, 0.0) == "x: 0/10 (0 %)"
    assert progress_line("x", 5, 10, 10.0) == "x: 5/10 (50 %), 0.50/s, ETA 10 s"
    assert progress_line("x", 1, 200, 1.0).endswith("ETA 3 min 19 s")
