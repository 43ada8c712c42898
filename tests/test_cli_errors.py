"""Every user error, as users meet it: the installed console script in a subprocess exits 2 with one line on
stderr (usage errors: typer's short usage message), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

STFBENCH = str(Path(sys.executable).with_name("stfbench"))


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([STFBENCH, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=os.environ)


def _one_line_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--model", "static", "--dataset", "synthetic", "--bogus"], "--bogus"),  # unknown option
        (["run", "--dataset", "synthetic"], "--model"),  # missing required option
        (["frobnicate"], "frobnicate"),  # unknown command
        (["leaderboard", "--format", "xml", "x"], "xml"),  # bad option value
    ],
)
def test_usage_errors_exit_2_without_a_traceback(args: list[str], expected: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) <= 8


def test_bare_command_shows_help_not_a_traceback() -> None:
    result = _cli()
    assert result.returncode in (0, 2) and "Traceback" not in result.stderr
    assert "run" in result.stdout + result.stderr


def test_missing_checkpoint_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    _one_line_error(_cli("memory", "--checkpoint", str(missing), "--out", str(tmp_path / "m")), str(missing))


@pytest.mark.parametrize("name", ["a[/]b.pt", "[red]x.pt", "[crop].pt"])
def test_paths_with_brackets_are_printed_as_written(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    _one_line_error(_cli("weights", "import", str(path)), str(path))


def test_out_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_error(_cli("synth", "--out", str(blocker / "corpus"), "--speakers", "1", "--clips", "1"), str(blocker))


def test_unknown_protocol_and_metric(tmp_path: Path) -> None:
    _one_line_error(_cli("protocols", "show", "nope"), "nope")
    pred = tmp_path / "p"
    pred.mkdir()
    _one_line_error(_cli("score", "--pred", str(pred), "--gt", str(pred), "--out", str(tmp_path / "o"),
                         "--metrics", "psnr,bogus"), "bogus")  # fmt: skip


def test_malformed_list_file(tmp_path: Path) -> None:
    (tmp_path / "lrw").mkdir()
    bad = tmp_path / "ids.txt"
    bad.write_text("../../etc/passwd\n\x00\n")
    result = _cli("prepare", "--dataset", "lrw", "--root", str(tmp_path / "lrw"), "--list-file", str(bad))
    _one_line_error(result, str(bad))


def test_unknown_template_placeholder_is_refused_before_the_run(tmp_path: Path) -> None:
    result = _cli("run", "-m", "command", "-d", "synthetic", "--template", "python gen.py {vidoe} {out}",
                  "-o", str(tmp_path / "run"))  # fmt: skip
    _one_line_error(result, "{vidoe}")
    assert not (tmp_path / "run" / "clips.jsonl").exists()


def test_a_list_file_that_is_not_text(tmp_path: Path) -> None:
    binary = tmp_path / "clips.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    out = str(tmp_path / "o")
    result = _cli("score", "--pred", str(binary), "--gt", str(binary), "--metrics", "psnr", "--out", out)
    _one_line_error(result, str(binary), "UTF-8")


def test_warnings_print_as_one_line(tmp_path: Path) -> None:
    """A warning from library code reaches the user as `warning: message`, one line, no source position."""
    import subprocess
    import sys

    probe = (
        "import sys, warnings\n"
        "from stfbench.cli import main\n"
        "from stfbench.cli import app\n"
        "@app.command('warn-probe')\n"
        "def warn_probe():\n"
        "    warnings.warn('FID ground truth: 2 samples < 2048 feature dimensions')\n"
        "sys.argv = ['stfbench', 'warn-probe']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "warning: FID ground truth: 2 samples < 2048 feature dimensions\n"
