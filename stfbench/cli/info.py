"""`stfbench info`: versions, device, cache and dataset roots, weight status.

It does not import torch (that alone takes seconds): the torch version and its CUDA build come from the
installed package's files, the GPUs from the CUDA driver library (the one torch itself loads).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import re
from importlib import metadata
from pathlib import Path

import typer

from stfbench.cli._output import echo_json
from stfbench.cli.options import ListFormat, list_format


def torch_build() -> tuple[str | None, str | None]:
    """(torch version, CUDA version it was built for or None) read from `torch/version.py`; (None, None) when
    torch is not installed."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None, None
    version_file = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    text = version_file.read_text() if version_file.is_file() else ""
    version = re.search(r"^__version__ = '([^']+)'", text, re.MULTILINE)
    cuda = re.search(r"^cuda(?:: [^=]+)? = '([^']+)'", text, re.MULTILINE)
    return version.group(1) if version else metadata.version("torch"), cuda.group(1) if cuda else None


def cuda_devices() -> list[str]:
    """Names of the GPUs the CUDA driver shows this process (CUDA_VISIBLE_DEVICES applies); [] without a driver."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return []
    count = ctypes.c_int()
    if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return []
    names = []
    for index in range(count.value):
        device = ctypes.c_int()
        name = ctypes.create_string_buffer(256)
        if driver.cuDeviceGet(ctypes.byref(device), index) == 0 and driver.cuDeviceGetName(name, 256, device) == 0:
            names.append(name.value.decode(errors="replace"))
    return names


def info(fmt: ListFormat = list_format()) -> None:
    """Print versions, device (CPU/CUDA), cache and dataset roots, and weight status."""
    from stfbench import __version__, paths
    from stfbench.weights import registry

    torch_version, torch_cuda = torch_build()
    gpus = cuda_devices() if torch_cuda else []
    threads = os.environ.get("OMP_NUM_THREADS")
    roots = {dataset: paths.dataset_root(dataset) for dataset in paths.DATASET_ROOT_ENV}
    if fmt is ListFormat.json:
        echo_json(
            {
                "stfbench": __version__,
                "python": platform.python_version(),
                "torch": torch_version,
                "torch_cuda": torch_cuda,
                "device": "cuda" if gpus else "cpu",
                "cuda_devices": gpus,
                "cpu_cores": len(os.sched_getaffinity(0)),
                "omp_num_threads": threads,
                "gomp_spincount": os.environ.get("GOMP_SPINCOUNT"),
                "cache": str(paths.cache_dir()),
                "weights_dir": str(paths.weights_dir()),
                "dataset_roots": {d: str(r) if r else None for d, r in roots.items()},
                "weights": registry.status_rows(),
            }
        )
        return

    from rich.table import Table
    from rich.text import Text

    from stfbench.console import make_console

    console = make_console()
    table = Table(title=f"stfbench {__version__}", show_header=False)
    table.add_row("python", platform.python_version())
    table.add_row("torch", f"{torch_version} (CUDA {torch_cuda or 'none'})" if torch_version else "not installed")
    table.add_row("device (auto)", Text(f"cuda ({', '.join(gpus)})" if gpus else "cpu"))
    cores = f"{len(os.sched_getaffinity(0))}" + (f" (OMP_NUM_THREADS={threads})" if threads else "")
    table.add_row("cpu cores", Text(cores))
    table.add_row("cache (STFBENCH_CACHE)", Text(str(paths.cache_dir())))
    table.add_row("weights (STFBENCH_WEIGHTS)", Text(str(paths.weights_dir())))
    for dataset, env in paths.DATASET_ROOT_ENV.items():
        root = roots[dataset]
        table.add_row(f"{dataset} root ({env})", Text(str(root)) if root else Text("not set", style="dim"))
    console.print(table)
    console.print(registry.status_table())


def register(app: typer.Typer) -> None:
    app.command("info")(info)
