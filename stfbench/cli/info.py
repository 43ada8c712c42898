"""`stfbench info`: versions, device, cache and dataset roots, weight status."""

from __future__ import annotations

import platform

import typer
from rich.console import Console
from rich.table import Table

from stfbench import __version__, paths


def info() -> None:
    """Print versions, device (CPU/CUDA), cache and dataset roots, and weight status."""
    import torch

    console = Console()
    table = Table(title=f"stfbench {__version__}", show_header=False)
    table.add_row("python", platform.python_version())
    table.add_row("torch", torch.__version__)
    cuda = torch.cuda.is_available()
    device = f"cuda ({torch.cuda.get_device_name(0)})" if cuda else "cpu"
    table.add_row("device (auto)", device)
    table.add_row("cpu threads", str(torch.get_num_threads()))
    table.add_row("cache (STFBENCH_CACHE)", str(paths.cache_dir()))
    table.add_row("weights (STFBENCH_WEIGHTS)", str(paths.weights_dir()))
    for dataset, env in paths.DATASET_ROOT_ENV.items():
        root = paths.dataset_root(dataset)
        table.add_row(f"{dataset} root ({env})", str(root) if root else "[dim]not set[/]")
    console.print(table)
    _print_weights(console)


def _print_weights(console: Console) -> None:
    try:
        from stfbench.weights import registry
    except ImportError:
        return
    console.print(registry.status_table())


def register(app: typer.Typer) -> None:
    app.command("info")(info)
