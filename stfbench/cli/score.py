"""`stfbench score`: every standard metric on existing clips, with per-clip records and failure accounting.

Output folder (`--out`):
    clips.jsonl   one line per clip: {"clip_id", "index", "pred", "gt", "status", "reason", "metrics": {...},
                  "frames", "seconds"}; status is "ok" or the failure reason (decode-error, no-audio, no-face,
                  too-short, mismatch, missing-output, ...)
    summary.json  {"schema": "stfbench.score/1", "n_expected", "n_scored", "failures": {reason: count},
                  "psnr", "ssim", "lmd", "fid", "fvd", "lse_c", "lse_d", "av_offset", "lpips" (dataset values),
                  "metric_names": {key: name with variant/backend, e.g. "lse[fullframe224,syncnet_v2]"},
                  "metrics": {key: {"mean", "ci95", "n", ...}}, "counts": {key: {"total", "clips", "n",
                  "description"}} (diagnostic counters such as lmd_frames_no_face), "metric_settings", "provenance"}
    state.json     metric statistics after the last recorded clip (for --resume)
    settings.json what --resume must match: pred, gt, audio, pairing, metrics and their settings, trim, resample;
                  "starts": time, command and device of each start (recorded, not matched; also in the summary)
    .lock         held (OS file lock) while a process writes the folder; a second one is refused
Exit status: 0; 2 for a user error (one line); 3 when no clip was scored, pairing failed for every clip, or
(with --strict) any clip failed.
Frames are compared as given (they should be face crops in the same space); LSE uses whole frames.
The scoring itself is `stfbench.runner.score.ScoreRun` on the engine `run` shares (`stfbench.runner.engine`):
`--workers N` processes decode the clips and run the metrics' CPU stages; the output does not depend on N.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from stfbench.cli import options
from stfbench.errors import StfbenchError


def score(
    pred: Path = typer.Option(
        ..., "--pred", help="Generated clips: a video, an image folder, a folder of them, or a .txt list."
    ),
    gt: Path = typer.Option(
        None, "--gt", help="Ground-truth clips, paired by relative path or id (optional for lse only)."
    ),
    audio: Path = typer.Option(None, "--audio", help="Audio folder or file (default: each clip's own audio track)."),
    metrics: str = typer.Option(
        "psnr,ssim,lmd,fid,lse", "--metrics", help="Comma-separated: psnr,ssim,lmd,fid,fvd,lse,lpips,lipleak,cpbd,csim."
    ),
    out: Path = options.out("Output folder for clips.jsonl and summary.json.", ...),
    protocol: str | None = options.dataset(None),  # only its metric settings are used; default: none
    lse_variant: str = typer.Option(None, "--lse-variant", help="fullframe224 (default) or facecrop."),
    lse_weights: str = typer.Option(None, "--lse-weights", help="SyncNet weight id (syncnet_v2, syncnet_synthetic)."),
    lse_precision: str | None = options.lse_precision(),
    lmd_backend: str = typer.Option(None, "--lmd-backend", help="dlib (default) or fan."),
    fid_frame_step: int = typer.Option(None, "--fid-frame-step", help="Use every k-th frame for FID."),
    gt_stats: Path = typer.Option(None, "--gt-stats", help="Precomputed ground-truth FID statistics (.npz)."),
    save_stats: Path = typer.Option(None, "--save-stats", help="Write the ground-truth FID statistics here (.npz)."),
    trim: bool = typer.Option(
        False, "--trim", help="Trim generated and GT clips to the shorter length instead of failing."
    ),
    resample: bool = options.resample(),
    device: str | None = options.device(),
    trust_unverified: bool = options.trust_unverified(),
    resume: bool = options.resume(),
    overwrite: bool = options.overwrite(),
    pairing: str = typer.Option(
        "clips", "--pairing", help="clips (videos / frame folders) or images (each image file is one clip)."
    ),
    strict: bool = options.strict(),
    workers: int = options.workers(),
    gt_cache: bool = options.gt_cache(),
    per_frame: bool = options.per_frame(),
    no_progress: bool = options.no_progress(),
) -> None:
    """Score existing clips against ground truth: PSNR, SSIM, LMD, FID, LSE-C/LSE-D/AV offset, LPIPS. With
    --dataset, the metric settings are that protocol's."""

    from rich.markup import escape

    from stfbench.console import make_console
    from stfbench.device import resolve_device
    from stfbench.metrics import NEEDS_GT, MetricSettings, build_metrics, missing_weights, parse_metric_names
    from stfbench.metrics.pairing import describe_pairing, pair_clips
    from stfbench.runner.lock import RunLock, check_output_dir
    from stfbench.runner.score import ScoreRun

    names = parse_metric_names(metrics)
    if pairing == "images" and "lse" in names:
        raise StfbenchError("--pairing images: lse needs video with audio (drop it from --metrics)")
    if gt is None and set(names) & NEEDS_GT:
        raise StfbenchError(
            f"--gt is required for {', '.join(sorted(set(names) & NEEDS_GT))} (only lse works without it)"
        )
    check_output_dir(out)
    with RunLock(out) as lock:  # a second writer is refused before any heavy setup
        settings = _settings(protocol, lse_variant, lse_weights, lse_precision, lmd_backend, fid_frame_step, gt_stats)
        torch_device = resolve_device(device)
        unavailable = {}
        if protocol == "synthetic":  # the synthetic protocol reports FID/FVD as n/a without Inception/I3D
            unavailable = missing_weights([n for n in names if n in ("fid", "fvd")], settings, trust_unverified)
            names = [n for n in names if n not in unavailable]
            for name, reason in unavailable.items():
                make_console(stderr=True).print(f"[yellow]{name.upper()} is n/a:[/] {escape(reason)}", highlight=False)
        from stfbench import prerequisites

        prerequisites.require(prerequisites.check_metrics(names, settings, trust_unverified))
        pairs = pair_clips(pred, gt, audio, mode=pairing)
        make_console(stderr=True).print(describe_pairing(pairs, pred, gt, pairing), highlight=False, markup=False)
        built = build_metrics(names, settings, torch_device, trust_unverified)
        resume_settings = {
            "pred": str(pred), "gt": _str(gt), "audio": _str(audio), "pairing": pairing, "metrics": names,
            "metric_settings": {m.name: m.settings() for m in built}, "trim": trim, "resample": resample,
        }  # fmt: skip
        run = ScoreRun(out, built, pairs, names, trim=trim, resample=resample, resume=resume, overwrite=overwrite,
                       settings=resume_settings, lock=lock, show_progress=not no_progress,
                       workers=workers, use_gt_cache=gt_cache, per_frame=per_frame)  # fmt: skip
        run.provenance = {
            "device": str(torch_device),
            "trust_unverified": trust_unverified,
            "settings": _plain(MetricSettings.from_any(settings)),
            "unavailable": unavailable,
        }
        summary = run.run()
        if save_stats is not None:
            fid = next((m for m in run.metrics if "fid" in m.keys), None)
            if fid is None:
                raise StfbenchError("--save-stats needs the fid metric")
            fid.save_gt_stats(str(save_stats))
        print_summary(summary)
        failed = summary["n_recorded"] - summary["n_scored"]
        unpaired = gt is not None and all(p.pred is None or p.gt is None for p in pairs)
        if unpaired or summary["n_scored"] == 0 or (strict and failed):
            why = (
                "pairing failed for every clip"
                if unpaired
                else "no clip was scored"
                if summary["n_scored"] == 0
                else f"{failed} clips failed (--strict)"
            )
            make_console(stderr=True).print(f"error: {why}", highlight=False, markup=False)
            raise typer.Exit(3)


def _settings(
    protocol, lse_variant, lse_weights, lse_precision, lmd_backend, fid_frame_step, gt_stats
) -> dict[str, Any]:
    from stfbench.metrics import MetricSettings

    base: dict[str, Any] = {}
    if protocol:
        from stfbench.protocols import load_protocol

        base = load_protocol(protocol).metrics.sections()
    sections = {k: dict(v) for k, v in _plain(MetricSettings.from_any(base)).items()}
    overrides = {
        ("lse", "variant"): lse_variant,
        ("lse", "weights"): lse_weights,
        ("lse", "precision"): lse_precision,
        ("lmd", "backend"): lmd_backend,
        ("fid", "frame_step"): fid_frame_step,
        ("fid", "gt_stats"): str(gt_stats) if gt_stats else None,
    }
    for (section, key), value in overrides.items():
        if value is not None:
            sections[section][key] = value
    return sections


def _plain(settings) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(settings)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def print_summary(summary: dict[str, Any]) -> None:

    from rich.markup import escape
    from rich.table import Table

    from stfbench.console import make_console
    from stfbench.metrics import METRIC_INFO

    console = make_console()
    table = Table(title=f"scored {summary['n_scored']} / {summary['n_expected']} clips")
    for column in ("metric", "value", "95% CI", "n", "name"):
        table.add_column(column)
    for key, (label, direction, decimals) in METRIC_INFO.items():
        if key not in summary.get("metric_names", {}):
            continue
        stats = summary["metrics"].get(key, {})
        value = stats.get("mean", summary.get(key))
        ci = stats.get("ci95")
        ci_text = f"[{ci[0]:.{decimals}f}, {ci[1]:.{decimals}f}]" if ci and all(math.isfinite(c) for c in ci) else "-"
        shown = "n/a" if value is None or math.isnan(value) else f"{value:.{decimals}f}"
        table.add_row(
            f"{label} {direction}".strip(),
            shown,
            ci_text,
            str(stats.get("n", "-")),
            escape(summary["metric_names"][key]),
        )
    console.print(table)
    for count in summary.get("counts", {}).values():  # diagnostic counters: counts, not metrics with a CI
        text = f"{count['description']}: {count['total']:,} (in {count['clips']} of {count['n']} clips)"
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    if summary["failures"]:
        console.print(
            "failures: " + ", ".join(f"{k} {v}" for k, v in summary["failures"].items()), markup=False, highlight=False
        )


def register(app: typer.Typer) -> None:
    app.command("score")(score)
