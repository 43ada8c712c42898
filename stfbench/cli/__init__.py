"""The `stfbench` command line.

Each module in this package that defines `register(app)` adds its commands; they are discovered at start
so that a new command is one new module. User errors (`StfbenchError`) print one line and exit 2; the
full traceback is shown only with `--debug`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

from stfbench import __version__
from stfbench.cli._help import use_flag_help
from stfbench.errors import StfbenchError

app = typer.Typer(
    name="stfbench",
    help="Benchmark and evaluation toolkit for audio-driven talking-face generation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
_state = {"debug": False}


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
    _state["debug"] = debug


def _register_commands() -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()
use_flag_help(app)


def main() -> None:
    """Console entry point."""
    debug = "--debug" in sys.argv[1:]
    try:
        exit_code = app(standalone_mode=False)  # click returns a `typer.Exit(code)` code instead of raising it
        if isinstance(exit_code, int) and exit_code:
            sys.exit(exit_code)
    except StfbenchError as error:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as click_error:  # click usage errors carry their own exit codes
        import click

        if isinstance(click_error, click.ClickException):
            click_error.show()
            sys.exit(click_error.exit_code)
        raise
