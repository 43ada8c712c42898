"""The options that several commands share, defined once: same name, short form, type, default and help
everywhere (tests/test_cli_options.py walks every command and fails on a difference).

`--dataset/-d` names a protocol (`synthetic`, `lrs2`, `lrw`, `lrs2-wav2lip`, `lrw-wav2lip` or a .toml path);
`--protocol` is kept as an alias of it. `--out/-o` is always where the command writes, but what it writes
differs by command, so each command gives its own help for it.
"""

from __future__ import annotations

from typing import Any

import typer

DATASET_HELP = "Protocol: synthetic, lrs2, lrw, lrs2-wav2lip, lrw-wav2lip or a .toml path (alias --protocol)."
#: The help of every shared option, by option name.
SHARED_HELP = {
    "--dataset": DATASET_HELP,
    "--root": "Dataset root (default: $STFBENCH_<DATASET>_ROOT; the synthetic corpus is generated on first use).",
    "--list-file": "Clip list or pairs file (default: the protocol's file found in the dataset root).",
    "--device": "cpu, cuda, cuda:1 … (default: cuda when available, else cpu).",
    "--no-progress": "No progress bars or progress lines.",
    "--workers": "Worker processes (0 = one per CPU core); results do not depend on it.",
    "--limit-clips": "Use only the first N clips (sorted by id) of the data the command reads.",
    "--trust-unverified": "Use weight files whose SHA-256 differs from the registry (recorded in provenance).",
    "--metrics": "Comma-separated metrics: psnr, ssim, lmd, fid, lse, lpips (default: the protocol's).",
    "--checkpoint": "Model checkpoint file or weight-registry id (default: the protocol's committed one, if any).",
}


def dataset(default: Any = "synthetic") -> Any:
    """`--dataset/-d` (alias `--protocol`)."""
    return typer.Option(default, "--dataset", "-d", "--protocol", help=DATASET_HELP, show_default=default is not None)


def root() -> Any:
    return typer.Option(None, "--root", help=SHARED_HELP["--root"])


def list_file() -> Any:
    return typer.Option(None, "--list-file", help=SHARED_HELP["--list-file"])


def device() -> Any:
    return typer.Option(None, "--device", help=SHARED_HELP["--device"])


def no_progress() -> Any:
    return typer.Option(False, "--no-progress", help=SHARED_HELP["--no-progress"])


def workers() -> Any:
    return typer.Option(0, "--workers", min=0, help=SHARED_HELP["--workers"])


def limit_clips() -> Any:
    return typer.Option(None, "--limit-clips", min=1, help=SHARED_HELP["--limit-clips"])


def trust_unverified() -> Any:
    return typer.Option(False, "--trust-unverified", help=SHARED_HELP["--trust-unverified"])


def metrics() -> Any:
    return typer.Option(None, "--metrics", help=SHARED_HELP["--metrics"])


def checkpoint() -> Any:
    return typer.Option(None, "--checkpoint", help=SHARED_HELP["--checkpoint"])


def out(default: Any, help: str) -> Any:
    """`--out/-o` with the command's own help (what it writes there)."""
    return typer.Option(default, "--out", "-o", help=help)


def resolve_workers(workers: int) -> int:
    """`--workers 0` → one per CPU core."""
    import os

    return workers or os.cpu_count() or 1
