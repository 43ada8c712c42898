"""`stfbench audit`: the metric-stability audit, the noise floor of each metric under common re-encoding.

Output folder (`--out`, default runs/<dataset>/audit):
    clips.jsonl    one line per (variant, clip): the engine's record (status, reason, metrics) plus `variant` and
                   `shift` (no-reference metrics: m(variant) − m(lossless) of the clip)
    summary.json   {"schema": "stfbench.audit/1", "results": {variant: {key: {"mean", "ci95", "n", "n_finite"}}},
                   "measures" (value or shift per key), "counts" (per variant: n_expected, n_scored, failures),
                   "variants" (encoder settings), "encoders" (PyAV, FFmpeg versions), "protocol", "metric_names",
                   "metric_settings", "weights", "unavailable", "seed", "provenance"}
    table.md, table.tex, table.csv, table.json, audit.png   the table in every format and its figure
    variants/<name>/   each variant's engine folder (clips.jsonl, state.json, summary.json)
    .lock          held while a process writes the folder
Exit status: 0; 2 for a user error (one line); 3 when no clip of the lossless reference was scored.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options
from stfbench.errors import StfbenchError


def audit(
    dataset: str = options.dataset(),
    variants: str | None = typer.Option(
        None,
        "--variants",
        help="Comma-separated subset of: h264-crf18, h264-crf28, h265-crf28, mpeg4, resize96, aac64, mp3-64, "
        "shift+1, shift-1 (default: all; lossless, the reference, always runs).",
    ),
    metrics: str | None = options.metrics(),
    out: Path | None = options.out("Audit folder (default runs/<dataset>/audit)."),
    fmt: str = typer.Option(
        "markdown", "--format", help="Table printed on stdout: markdown, latex, csv or json (all are written)."
    ),
    root: Path | None = options.root(),
    list_file: Path | None = options.list_file(),
    limit_clips: int | None = options.limit_clips(),
    device: str | None = options.device(),
    workers: int = options.workers(),
    gt_cache: bool = options.gt_cache(),
    seed: int = options.seed(),
    overwrite: bool = options.overwrite(),
    trust_unverified: bool = options.trust_unverified(),
    no_progress: bool = options.no_progress(),
) -> None:
    """Re-encode the protocol's ground-truth clips (H.264, H.265, MPEG-4, 96-px resize, AAC, MP3, ±1-frame audio
    shift) and report how far each moves every metric from the lossless ground truth (mean, 95 % CI over clips)."""
    from rich.markup import escape

    from stfbench.console import make_console
    from stfbench.runner.audit_table import FORMATS

    if fmt not in FORMATS:
        raise StfbenchError(f"--format {fmt}: choose {', '.join(FORMATS)}")
    from stfbench.media.variants import parse_variants

    chosen = parse_variants(variants)
    from stfbench.cli.run import slug
    from stfbench.runner.lock import RunLock, check_output_dir

    out = out or Path("runs") / slug(Path(dataset).stem) / "audit"
    check_output_dir(out)
    with RunLock(out):  # a second writer is refused before any heavy setup
        summary = _run(dataset, chosen, metrics, out, root, list_file, limit_clips, device, workers, gt_cache, seed,
                       overwrite, trust_unverified, not no_progress)  # fmt: skip
    from stfbench.runner.audit_table import render

    typer.echo(render(summary, fmt), nl=False)
    console = make_console(stderr=True)
    for name, counts in summary["counts"].items():
        if counts["failures"]:
            failures = ", ".join(f"{k} {v}" for k, v in counts["failures"].items())
            console.print(f"{escape(name)}: {counts['n_scored']}/{counts['n_expected']} scored ({escape(failures)})")
    console.print(f"audit written to {escape(str(out))}", highlight=False)
    if summary["counts"]["lossless"]["n_scored"] == 0:
        console.print("error: no clip of the lossless reference was scored", highlight=False, markup=False)
        raise typer.Exit(3)


def _run(dataset, chosen, metrics, out, root, list_file, limit_clips, device, workers, gt_cache, seed, overwrite,
         trust_unverified, show_progress) -> dict:  # fmt: skip
    """Load, check, score, summarize and write; returns the summary."""
    from rich.markup import escape

    from stfbench import prerequisites
    from stfbench.console import make_console
    from stfbench.device import resolve_device
    from stfbench.leaderboard.table import collect_weights
    from stfbench.media.variants import encoder_versions
    from stfbench.metrics import build_metrics, missing_weights, parse_metric_names
    from stfbench.provenance import base_provenance
    from stfbench.runner.audit import AuditConfig, clear, run_audit
    from stfbench.runner.audit_table import write_outputs
    from stfbench.runner.clips import ProtocolClips
    from stfbench.runner.run import load_protocol_or_fail as load_protocol
    from stfbench.runner.run import protocol_info
    from stfbench.runner.store import write_json

    protocol = load_protocol(dataset)
    settings = protocol.metrics.sections()
    unavailable: dict[str, str] = {}
    if metrics:
        names = parse_metric_names(metrics)
    else:  # the protocol's metrics whose weights are here; the others are n/a, never numbers from other weights
        unavailable = missing_weights(protocol.metrics.names, settings, trust_unverified)
        names = [n for n in protocol.metrics.names if n not in unavailable]
        for name, reason in unavailable.items():
            make_console(stderr=True).print(f"[yellow]{name} is n/a:[/] {escape(reason)}", highlight=False)
    if not names:
        raise StfbenchError(f"protocol {protocol.id}: no metric has its weights here (see stfbench weights list)")
    prerequisites.require(prerequisites.check_metrics(names, settings, trust_unverified))
    clear(out, overwrite)  # refuse (or clear) before any heavy work
    torch_device = resolve_device(device)
    built = build_metrics(names, settings, torch_device, trust_unverified)
    clips = ProtocolClips(protocol, root, list_file, workers=workers, show_progress=show_progress)
    items = clips.items()
    if limit_clips is not None:
        keep = {item.item_id for item in sorted(items, key=lambda item: item.item_id)[:limit_clips]}
        items = [item for item in items if item.item_id in keep]
    clips.prepare(items)
    config = AuditConfig(out, chosen, seed, workers, overwrite, show_progress, gt_cache)
    summary = run_audit(config, protocol, built, clips, items)
    weights: dict[str, str] = {}
    collect_weights({m.name: m.settings() for m in built}, weights, set())
    summary.update(
        protocol=protocol_info(protocol),
        metric_names={key: m.name for m in built for key in m.keys},
        metric_settings={m.name: m.settings() for m in built},
        weights=weights,
        unavailable=unavailable,
        encoders=encoder_versions(),
        n_clips=len(items),
        limit_clips=limit_clips,
        provenance=base_provenance(str(torch_device), seed),
    )
    write_json(out / "summary.json", summary)
    write_outputs(out, summary)
    return summary


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
