"""`stfbench prepare`: face crops + mel/MFCC for every clip of a protocol, cached, with a per-clip manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options


def prepare_command(
    dataset: str = options.dataset(),
    root: Path | None = options.root(),
    list_file: Path | None = options.list_file(),
    detector: str | None = typer.Option(
        None, "--detector", help="Override the protocol's detector: dlib, s3fd or none."
    ),
    device: str | None = options.device(),
    workers: int = options.workers(),
    resample: bool = options.resample(),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Retry clips whose failure is cached."),
    trust_unverified: bool = options.trust_unverified(),
    no_progress: bool = options.no_progress(),
) -> None:
    """Detect (S3FD on --device), smooth and crop faces, compute mel + MFCC, cache per clip and write manifest.json."""

    from rich.markup import escape
    from rich.table import Table

    from stfbench.console import make_console
    from stfbench.datasets import prepare_protocol
    from stfbench.device import resolve_device
    from stfbench.protocols import load_protocol
    from stfbench.protocols.spec import DETECTORS

    protocol = load_protocol(dataset)
    if detector is not None and detector not in DETECTORS:
        raise typer.BadParameter(f"--detector must be one of {', '.join(DETECTORS)}")
    report = prepare_protocol(
        protocol,
        root,
        resolve_device(device),
        progress=not no_progress,
        workers=workers,
        detector=detector,
        resample=resample,
        list_file=list_file,
        retry_failed=retry_failed,
        trust_unverified=trust_unverified,
    )
    console = make_console()
    table = Table(title=escape(f"prepare {protocol.id}: {len(report.records):,} clips in {report.seconds:.1f} s"))
    table.add_column("status")
    table.add_column("clips", justify="right")
    for status, count in sorted(report.counts.items(), key=lambda kv: (kv[0] != "ok", kv[0])):
        table.add_row(status, f"{count:,}")
    table.add_row("newly prepared", f"{report.newly_prepared:,}")
    console.print(table)
    failed = [r for r in report.records.values() if r.status != "ok"]
    for record in failed[:10]:
        console.print(f"  {record.status}: {record.reason}", markup=False, highlight=False)
    if len(failed) > 10:
        console.print(f"  … and {len(failed) - 10:,} more (see the manifest)")
    console.print(f"manifest: {report.manifest_path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare_command)
