"""`stfbench info`: versions, device, cache and dataset roots, weight status."""

from __future__ import annotations

import platform

import typer
from rich.console import Console
from rich.table import Table

from stfbench import __version__, paths
from stfbench.cli._output import ListFormat, echo_json, format_option


def info(fmt: ListFormat = format_option()) -> None:
    """Print versions, device (CPU/CUDA), cache and dataset roots, and weight status."""
    import torch
    from rich.text import Text

    from stfbench.weights import registry

    cuda = torch.cuda.is_available()
    roots = {dataset: paths.dataset_root(dataset) for dataset in paths.DATASET_ROOT_ENV}
    if fmt is ListFormat.json:
        echo_json(
            {
                "stfbench": __version__,
                "python": platform.python_version(),
                "torch": torch.__version__,
                "device": "cuda" if cuda else "cpu",
                "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
                "cpu_threads": torch.get_num_threads(),
                "cache": str(paths.cache_dir()),
                "weights_dir": str(paths.weights_dir()),
                "dataset_roots": {d: str(r) if r else None for d, r in roots.items()},
                "weights": registry.status_rows(),
            }
        )
        return
    console = Console()
    table = Table(title=f"stfbench {__version__}", show_header=False)
    table.add_row("python", platform.python_version())
    table.add_row("torch", torch.__version__)
    table.add_row("device (auto)", f"cuda ({torch.cuda.get_device_name(0)})" if cuda else "cpu")
    table.add_row("cpu threads", str(torch.get_num_threads()))
    table.add_row("cache (STFBENCH_CACHE)", Text(str(paths.cache_dir())))
    table.add_row("weights (STFBENCH_WEIGHTS)", Text(str(paths.weights_dir())))
    for dataset, env in paths.DATASET_ROOT_ENV.items():
        root = roots[dataset]
        table.add_row(f"{dataset} root ({env})", Text(str(root)) if root else Text("not set", style="dim"))
    console.print(table)
    console.print(registry.status_table())


def register(app: typer.Typer) -> None:
    app.command("info")(info)
