"""The options several commands share, each defined once: the same name, short form, alias, type, default and help
wherever it appears (tests/test_cli_options.py walks every command and fails on a difference).

A command declares e.g. `dataset: str = options.dataset()`; each function returns a fresh `typer.Option`. Only
`--out` takes its help from the command, since it is a file for some and a folder for others. This module imports
only typer and the standard library, so that `--help` starts fast.
"""

from __future__ import annotations

import enum
from typing import Any

import typer

#: The protocol of every command that reads one, when none is given (`score`: none).
DEFAULT_PROTOCOL = "synthetic"
#: Dataset names. `prepare` and `datasets check` once took the dataset as `--dataset` beside `--protocol`; given
#: together with a protocol of that dataset (`--dataset lrs2 --protocol lrs2-wav2lip`), the protocol is meant.
DATASETS = ("synthetic", "lrs2", "lrw")
#: `ctx.meta` key under which the command classes (stfbench.cli._help) keep a command's raw arguments.
ARGS_KEY = "stfbench.args"

PROTOCOL_HELP = (
    "Protocol id (synthetic, synthetic-cross, lrs2, lrw, lrs2-wav2lip, lrw-wav2lip) or protocol .toml file; "
    "its dataset is read. --protocol is an alias."
)
DEVICE_HELP = "cpu, cuda, cuda:1 … (default: cuda when available)."


class ListFormat(enum.StrEnum):
    """Output of a listing command."""

    table = "table"
    json = "json"


def dataset(default: str | None = DEFAULT_PROTOCOL) -> Any:
    """`--dataset/-d` (alias `--protocol`): the protocol's id or .toml path."""
    return typer.Option(default, "--dataset", "-d", "--protocol", callback=_one_protocol, help=PROTOCOL_HELP)


def out(help: str, default: Any = None) -> Any:
    """`--out/-o`: the command's output file or folder (`...`: required)."""
    return typer.Option(default, "--out", "-o", help=help)


def root() -> Any:
    """`--root`: the dataset root."""
    return typer.Option(
        None,
        "--root",
        help="Dataset root (default: $STFBENCH_LRS2_ROOT or $STFBENCH_LRW_ROOT; synthetic: its corpus in the cache).",
    )


def list_file() -> Any:
    """`--list-file`: the protocol's clip list or pairs file."""
    return typer.Option(
        None,
        "--list-file",
        help="The protocol's clip list or pairs file (default: found in the dataset root or $STFBENCH_CACHE/lists/).",
    )


def device() -> Any:
    """`--device`: where torch computes."""
    return typer.Option(None, "--device", help=DEVICE_HELP)


def no_progress() -> Any:
    """`--no-progress`: no progress bars, also none made inside library code, while the command runs."""
    return typer.Option(
        False,
        "--no-progress",
        callback=_silence_progress,
        help="Show no progress bars (nor their periodic lines in logs).",
    )


def workers() -> Any:
    """`--workers`: processes for corpus generation, clip preparation and the per-clip metric stages."""
    return typer.Option(
        0, "--workers", min=0, help="Worker processes (0, the default: one per CPU core); results do not depend on it."
    )


def per_frame() -> Any:
    """`--per-frame`: per-clip sidecar files with per-frame detail."""
    return typer.Option(
        False,
        "--per-frame",
        help="Also write RUN/per_frame/<clip>.json: LSE's offset curve and per-window confidence (stfbench plot sync).",
    )


def gt_cache() -> Any:
    """`--gt-cache/--no-gt-cache`: reuse model-independent ground-truth quantities."""
    return typer.Option(
        True,
        "--gt-cache/--no-gt-cache",
        help="Reuse ground-truth landmarks and FID/FVD features from $STFBENCH_CACHE/gt (results are identical).",
    )


def limit_clips() -> Any:
    """`--limit-clips`: the first N clips of the split read."""
    return typer.Option(
        None,
        "--limit-clips",
        min=1,
        help="Use only the first N clips (sorted ids) of the split it trains on or analyses (default: all).",
    )


def seed() -> Any:
    """`--seed`: the seed of every random draw."""
    return typer.Option(0, "--seed", help="Random seed: the same seed and options give the same result.")


def trust_unverified() -> Any:
    """`--trust-unverified`: use weight files whose SHA-256 does not match the registry."""
    return typer.Option(
        False,
        "--trust-unverified",
        help="Use weight files whose SHA-256 differs from the registry's (recorded as unverified).",
    )


def metrics() -> Any:
    """`--metrics`: which metrics (default: the protocol's)."""
    return typer.Option(
        None,
        "--metrics",
        help="Metrics: psnr, ssim, lmd, fid, fvd, lse, lpips, lipleak, cpbd, csim (default: the protocol's).",
    )


def checkpoint() -> Any:
    """`--checkpoint`: the model's weights."""
    return typer.Option(
        None,
        "--checkpoint",
        help="Model checkpoint file or weight-registry id (default: the model's committed one for the dataset, "
        "where there is one).",
    )


def resume() -> Any:
    """`--resume`: continue an interrupted run."""
    return typer.Option(False, "--resume", help="Continue an interrupted run in the output folder.")


def overwrite() -> Any:
    """`--overwrite`: replace a previous run."""
    return typer.Option(False, "--overwrite", help="Discard a previous run in the output folder and start again.")


def strict() -> Any:
    """`--strict`: exit 3 on any failed clip."""
    return typer.Option(False, "--strict", help="Exit 3 when any clip failed (default: only when none was scored).")


def resample() -> Any:
    """`--resample`: convert other rates instead of failing."""
    return typer.Option(
        False, "--resample", help="Convert other frame/sample rates to 25 fps / 16 kHz instead of failing."
    )


def lse_precision() -> Any:
    """`--lse-precision`: SyncNet's arithmetic for LSE."""
    return typer.Option(
        None,
        "--lse-precision",
        help="LSE SyncNet precision: fp32 (default), bf16 or fp16 (CUDA); other than fp32 is named in the metric "
        "(and in a run's protocol hash).",
    )


def list_format() -> Any:
    """`--format` of the listing commands (default: table)."""
    return typer.Option(ListFormat.table, "--format", help="table (for reading) or json (strict JSON on stdout).")


def option_values(args: list[str] | tuple[str, ...], names: list[str]) -> list[str]:
    """Every value that `args` give the option called `names`, in order: `--name V`, `--name=V`, `-d V`, `-dV`.
    (A value of another option that looks like one of `names` is read as the option itself.)"""
    values = []
    words = iter(args)
    for word in words:
        if word == "--":
            break
        if word in names:
            values.append(next(words, ""))
        elif word.startswith("--"):
            name, equals, value = word.partition("=")
            if equals and name in names:
                values.append(value)
        elif any(len(name) == 2 and word.startswith(name) for name in names):
            values.append(word[2:])
    return values


def _silence_progress(ctx: typer.Context, value: bool) -> bool:
    """Bars on or off for this command (set either way, so an earlier in-process command cannot leak its
    setting), restored when the command's context closes."""
    from stfbench.console import set_progress

    previous = set_progress(not value)
    ctx.call_on_close(lambda: set_progress(previous))
    return value


def _one_protocol(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """The protocol. Given more than once (e.g. as `--dataset` and as `--protocol`), the values must name one
    protocol, except that a dataset name beside a protocol of that dataset is the old two-option form."""
    given = list(dict.fromkeys(option_values(ctx.meta.get(ARGS_KEY, ()), [*param.opts, *param.secondary_opts])))
    if len(given) <= 1:
        return value
    layouts = [v for v in given if v in DATASETS]
    protocols = [v for v in given if v not in DATASETS]
    if len(layouts) == 1 and len(protocols) == 1:
        from stfbench.protocols import load_protocol

        protocol = load_protocol(protocols[0])
        if protocol.dataset != layouts[0]:
            raise typer.BadParameter(f"protocol {protocol.id} is for dataset {protocol.dataset}, not {layouts[0]}")
        return protocols[0]
    raise typer.BadParameter(
        f"give one protocol, not {' and '.join(given)} (--dataset, -d and --protocol are one option)"
    )
