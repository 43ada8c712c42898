"""The `stfbench` command line.

Each module in this package that defines `register(app)` adds its commands; they are discovered at start
so that a new command is one new module. The modules import only typer and the standard library at top
level (torch, librosa and the media stack are imported inside the command that needs them), so that
`--help`, `--version` and the listing commands start fast.

Exit status: 0 success, 1 a command's own failure (e.g. `weights verify` found a bad file), 2 a user error:
a usage error (typer prints the usage line), a `StfbenchError` or an `OSError` (one line `error: …` naming
the file and reason). The full traceback is shown only with `--debug`.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import warnings

import typer

from stfbench import __version__
from stfbench.cli._help import use_flag_help
from stfbench.errors import StfbenchError

app = typer.Typer(
    name="stfbench",
    help="Benchmark and evaluation toolkit for audio-driven talking-face generation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is printed as written: brackets such as [crop] are not rich markup
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"stfbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """Benchmark and evaluation toolkit for audio-driven talking-face generation."""


def _register_commands() -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()
use_flag_help(app)


def os_error_message(error: OSError) -> str:
    """`path: reason` of an OSError (`source → target: reason` for a failed rename or copy)."""
    reason = error.strerror or str(error)
    names = [str(name) for name in (error.filename, error.filename2) if name is not None]
    return f"{' → '.join(names)}: {reason}" if names else reason


def print_error(message: str) -> None:
    """`error: message` as one line on stderr; the message is printed as it is, never read as rich markup."""
    from rich.text import Text

    from stfbench.console import make_console

    line = " ".join(part.strip() for part in message.splitlines())
    make_console(stderr=True).print(Text.assemble(("error:", "bold red"), " ", line), highlight=False, soft_wrap=True)


#: OpenMP busy-wait iterations before an idle torch thread sleeps (libgomp's default is 300,000). `score` and
#: `run` share the cores between their worker processes and the main process's torch threads; with the long
#: default spin the main process's idle threads burn the cores the workers need (a warm LMD + FID run with
#: `--workers 2` on 2 cores: 91.5 s → 70.6–76.4 s, 153 → 115–124 CPU-s; LSE alone unchanged). Only waiting
#: changes, never the numbers. A value the user set wins; it is read when torch loads, so it is set here.
OPENMP_SPIN_COUNT = "3000"


def main() -> None:
    """Console entry point: typer handles usage errors (exit 2), `typer.Exit` and Ctrl-C (exit 130) itself."""
    os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN_COUNT)
    debug = "--debug" in sys.argv[1:]
    if not debug:  # a warning is one line, like an error: no source line or file position
        warnings.formatwarning = lambda message, category, *_args, **_kwargs: f"warning: {message}\n"
    try:
        app()
    except StfbenchError as error:
        if debug:
            raise
        checks = getattr(error, "checks", None)  # PrerequisitesError: every missing item at once, as a table
        if checks:
            from stfbench.console import make_console
            from stfbench.prerequisites import render

            make_console(stderr=True).print(render([c for c in checks if not c.ok]))
            print_error(f"{sum(not c.ok for c in checks)} prerequisite(s) missing (rows above); nothing was run")
        else:
            print_error(str(error))
        sys.exit(2)
    except OSError as error:  # disk full, read-only folder, --out is a file, permission denied, ...
        if debug:
            raise
        print_error(os_error_message(error))
        sys.exit(2)
