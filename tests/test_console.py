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


def test_a_command_logging_to_a_file_shows_progress_lines_and_whole_urls(tmp_path) -> None:
    """Installed console script, stderr redirected to a file (not a terminal)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    stfbench = str(Path(sys.executable).with_name("stfbench"))
    log = tmp_path / "log.txt"
    with open(log, "w") as handle:
        synth = [stfbench, "synth", "--out", str(tmp_path / "c"), "--speakers", "1", "--clips", "2", "--duration", "1"]
        done = subprocess.run([*synth, "--workers", "1"], stderr=handle, stdout=handle, timeout=300)
    assert done.returncode == 0, log.read_text()
    assert any(line.rstrip().endswith("(100 %)") or "(100 %)," in line for line in log.read_text().splitlines())
    env = {**os.environ, "STFBENCH_WEIGHTS": str(tmp_path / "w"), "TORCH_HOME": str(tmp_path)}
    with open(log, "w") as handle:
        subprocess.run([stfbench, "run", "-m", "static", "-d", "lrs2"], stderr=handle, env=env, timeout=120)
    url = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
    assert any(url in line for line in log.read_text().splitlines())
