"""`stfbench weights list|verify|import`: the weight registry on the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli._output import echo_json
from stfbench.cli.options import ListFormat, list_format

weights_app = typer.Typer(
    help="Weight files: list them, verify them by SHA-256, import downloaded copies.", no_args_is_help=True
)


@weights_app.command("list")
def list_weights(fmt: ListFormat = list_format()) -> None:
    """Every weight file stfbench knows: status (ok / unverified / missing / wrong-size / wrong-hash), short
    SHA-256, user, licence and source."""

    from stfbench import paths
    from stfbench.console import make_console
    from stfbench.weights import registry

    search_order = [
        "$STFBENCH_WEIGHT_<ID>",
        f"{paths.weights_dir()} ($STFBENCH_WEIGHTS)",
        str(paths.torch_hub_checkpoints()),
        "installed packages",
        str(paths.assets_dir() / "weights"),
    ]
    if fmt is ListFormat.json:
        echo_json({"weights": registry.status_rows(), "search_order": search_order})
        return
    console = make_console()
    console.print(registry.status_table(detailed=True))
    console.print(f"looked up in: {', '.join(search_order)}", markup=False, highlight=False)


@weights_app.command("verify")
def verify_weights(
    ids: list[str] = typer.Argument(None, help="Weight ids (default: all)."),
) -> None:
    """Hash every present weight file; exit 1 when a present file is wrong (missing files are listed only)."""

    from stfbench.console import make_console
    from stfbench.weights import registry

    console = make_console()
    bad = 0
    for weight_id in ids or list(registry.entries()):
        item = registry.entry(weight_id)
        status = registry.verify(weight_id)
        where = registry.locate(weight_id)
        console.print(
            f"{weight_id:18} {status:11} {where if where else item.how_to_get()}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        bad += status in (registry.WRONG_HASH, registry.WRONG_SIZE)
    if bad:
        raise typer.Exit(1)


@weights_app.command("import")
def import_weights(
    path: Path = typer.Argument(..., help="A downloaded weight file."),
    as_id: str = typer.Option(None, "--as", help="Registry id, for weights without a published SHA-256."),
) -> None:
    """Copy a weight file into the weights folder under its registry name (matched by SHA-256)."""

    from stfbench import paths
    from stfbench.console import make_console
    from stfbench.weights import registry

    item = registry.import_file(path, as_id=as_id)
    make_console().print(
        f"imported {path} as {item.id} → {paths.weights_dir() / item.filename}", markup=False, highlight=False
    )


def register(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")
