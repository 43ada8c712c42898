"""Help output: a flag (`--resume`, `--help`) takes no value, so its help line shows no value type.

typer's rich help prints the parameter type of every option, flags included (`--resume <bool>`); the command
and group classes here blank the type column of flags. `use_flag_help(app)` puts them on every command. The
command class also keeps the command's raw arguments in `ctx.meta`, for an option that must see all the values it
was given (`options.dataset`: `--dataset X --protocol Y`), not only the last.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import DefaultPlaceholder

from stfbench.cli.options import ARGS_KEY


def _hide_flag_types(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # rich help shows a metavar, when set, instead of the type
    return params


class FlagHelpCommand(TyperCommand):
    """A command whose flags show no value type in `--help`, and whose raw arguments are in `ctx.meta`."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _hide_flag_types(super().get_params(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[ARGS_KEY] = tuple(args)
        return super().parse_args(ctx, args)


class FlagHelpGroup(TyperGroup):
    """A command group whose flags show no value type in `--help`."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _hide_flag_types(super().get_params(ctx))


def use_flag_help(app: typer.Typer) -> None:
    """Give `app`, its commands and its sub-apps (recursively) the classes above, where none was chosen."""
    if app.info.cls is None or isinstance(app.info.cls, DefaultPlaceholder):
        app.info.cls = FlagHelpGroup
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = FlagHelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_flag_help(group.typer_instance)
