"""`stfbench score`: every standard metric on existing clips, with per-clip records and failure accounting.

Output folder (`--out`):
    clips.jsonl   one line per clip: {"clip_id", "index", "pred", "gt", "status", "reason", "metrics": {...},
                  "frames", "seconds"}; status is "ok" or the failure reason (decode-error, no-audio, no-face,
                  too-short, mismatch, missing-output, ...)
    summary.json  {"schema": "stfbench.score/1", "n_expected", "n_scored", "failures": {reason: count},
                  "psnr", "ssim", "lmd", "fid", "lse_c", "lse_d", "av_offset", "lpips" (dataset values),
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
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
        "psnr,ssim,lmd,fid,lse", "--metrics", help="Comma-separated: psnr,ssim,lmd,fid,lse,lpips."
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
        if protocol == "synthetic" and "fid" in names:  # the synthetic protocol reports FID as n/a without Inception
            unavailable = missing_weights(["fid"], settings)
            names = [n for n in names if n not in unavailable]
            for reason in unavailable.values():
                make_console(stderr=True).print(f"[yellow]FID is n/a:[/] {escape(reason)}", highlight=False)
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
                       settings=resume_settings, lock=lock, show_progress=not no_progress)  # fmt: skip
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


class ScoreRun:
    """Scores clip pairs in order, saving statistics then the record after each (resumable). Clips are decoded
    in groups of `group_size` (the next group in a background thread) and each metric may `precompute` a
    whole group (LSE: windows of the group's clips share forward batches); statistics still move clip by clip.
    A record's `seconds` is the clip's own scoring time plus an equal share of its group's precompute time."""

    #: Clips per group when a metric precomputes groups (LSE); 1 otherwise.
    group_size = 8

    def __init__(
        self,
        out: Path,
        metrics: list,
        pairs: list,
        names: list[str],
        *,
        trim=False,
        resample=False,
        resume=False,
        overwrite=False,
        settings: dict[str, Any] | None = None,
        lock=None,
        show_progress: bool = True,
    ) -> None:
        from stfbench.runner.lock import RunLock

        self.show_progress = show_progress
        self.lock = (lock or RunLock(out)).acquire()  # re-entrant; released by run(), by the OS if the process dies
        try:
            self._open(out, metrics, pairs, names, trim, resample, resume, overwrite, settings or {})
        except BaseException:
            self.lock.release()
            raise

    def _open(self, out, metrics, pairs, names, trim, resample, resume, overwrite, settings) -> None:
        """Check the folder (under its lock) and restore a previous run when resuming."""
        from stfbench.runner.store import RunStore, read_json, write_json

        self.store = RunStore(out)
        self.metrics = metrics
        self.pairs = pairs
        self.names = names
        self.trim = trim
        self.resample = resample
        self.provenance: dict[str, Any] = {}
        records_file = Path(out) / "clips.jsonl"
        if records_file.exists() and not (resume or overwrite):
            raise StfbenchError("already holds a score run: pass --resume to continue or --overwrite", out)
        if overwrite:
            for name in ("clips.jsonl", "summary.json", SETTINGS):
                (Path(out) / name).unlink(missing_ok=True)
            self.store.clear_state()
        settings_file = Path(out) / SETTINGS
        self.settings, self.starts = settings, []
        if resume and settings_file.exists():
            previous = read_json(settings_file)
            self.starts = previous.pop(STARTS, [])
            for key in sorted(set(previous) | set(settings)):
                if _jsonable(previous.get(key)) != _jsonable(settings.get(key)):
                    raise StfbenchError(
                        f"cannot resume: {key} differs from the score run in this folder "
                        f"({previous.get(key)!r} vs {settings.get(key)!r})",
                        out,
                    )
        self.done = self._restore() if resume else set()
        write_json(settings_file, _jsonable({**settings, STARTS: self.starts}))

    def _restore(self) -> set[str]:
        """Load the saved statistics; re-append the one record a crash may have lost after the state save.
        Records holding a clip twice, more clips than expected or clips not being scored are refused."""
        from stfbench.runner.lock import check_records

        records = self.store.read_records(repair=True)
        check_records(records, self.store.root, len(self.pairs), [p.key for p in self.pairs])
        state = self.store.load_state()
        recorded = {r["clip_id"] for r in records}
        if state is None:
            if recorded:
                raise StfbenchError("clips.jsonl has records but state.json is missing: cannot resume", self.store.root)
            return set()
        included = set(state["included_ids"])
        lost = included - recorded
        if recorded - included or lost - {state["last_record"]["clip_id"]}:
            raise StfbenchError(
                "clips.jsonl and state.json disagree: cannot resume safely (use --overwrite)", self.store.root
            )
        for metric, metric_state in zip(self.metrics, state["metric_states"], strict=True):
            metric.merge(metric_state)
        if lost:
            self.store.append_record(state["last_record"])
        return included

    def run(self) -> dict[str, Any]:
        """Score every clip not yet recorded, then write the summary; releases the folder's lock."""
        from stfbench.provenance import now_iso
        from stfbench.runner.lock import OutputError
        from stfbench.runner.store import write_json

        try:  # each start (its device may differ from an earlier part's) is recorded
            start = {"time": now_iso(), "command": sys.argv, "device": self.provenance.get("device")}
            self.starts = [*self.starts, start]
            write_json(self.store.root / SETTINGS, _jsonable({**self.settings, STARTS: self.starts}))
            self._score_all()
            return self.finish()
        except OSError as error:
            raise OutputError.from_os(error, self.store.root) from error
        finally:
            self.lock.release()

    def _score_all(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        from stfbench.console import Progress
        from stfbench.runner.run import ramp_groups

        todo = [(i, p) for i, p in enumerate(self.pairs) if p.key not in self.done]
        size = self.group_size if any(m.precomputes() for m in self.metrics) else 1
        groups = ramp_groups(todo, size)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True, disable=not self.show_progress) as progress:  # fmt: skip
            task = progress.add_task("scoring", total=len(todo))
            with ThreadPoolExecutor(max_workers=1) as loader:  # decode the next group while this one is scored
                pending = loader.submit(self._load_group, groups[0]) if groups else None
                for position, group in enumerate(groups):
                    loaded = pending.result()
                    if position + 1 < len(groups):
                        pending = loader.submit(self._load_group, groups[position + 1])
                    started = time.perf_counter()
                    samples = [s for s in loaded if not isinstance(s, Exception)]
                    for metric in self.metrics:
                        with contextlib.suppress(Exception):  # on a crash each clip's update() fails alone
                            metric.precompute(samples)
                    share = (time.perf_counter() - started) / len(group)
                    for (index, pair), sample in zip(group, loaded, strict=True):
                        self.score_one(index, pair, sample, share)
                        progress.advance(task)

    def _load_group(self, group: list) -> list:
        """Each pair's ScoringSample, or the StfbenchError that is its status (any decode crash becomes one)."""
        from stfbench.errors import DecodeError
        from stfbench.runner.lock import raise_if_output_failure

        loaded: list = []
        for _, pair in group:
            try:
                loaded.append(self._load(pair))
            except StfbenchError as error:
                loaded.append(error)
            except Exception as error:  # a decoder crash on one clip must not stop the batch (a full disk does)
                raise_if_output_failure(error, self.store.root)
                where = pair.pred if pair.pred is not None else pair.gt
                loaded.append(DecodeError(f"{type(error).__name__}: {_one_line(error)}", where))
        return loaded

    def score_one(self, index: int, pair, sample, shared_seconds: float = 0.0) -> dict[str, Any]:
        """Score and record one clip; `sample` is its ScoringSample or the StfbenchError loading it raised."""
        from stfbench.errors import MetricError
        from stfbench.runner.lock import raise_if_output_failure

        started = time.perf_counter()
        record: dict[str, Any] = {"clip_id": pair.key, "index": index, "pred": _str(pair.pred), "gt": _str(pair.gt)}
        saved = [copy.deepcopy(m.state_dict()) for m in self.metrics]
        try:
            if isinstance(sample, Exception):
                raise sample
            values = self._values(sample)
            frames = len(sample.pred_crops)
            record.update(status="ok", reason=None, metrics=values, frames=frames)
        except Exception as error:  # a metric crash on one clip is that clip's status (a full disk stops the batch)
            raise_if_output_failure(error, self.store.root)
            if not isinstance(error, StfbenchError):
                error = MetricError(f"{type(error).__name__}: {_one_line(error)}", pair.pred)
            record.update(status=error.status, reason=_one_line(error), metrics={})
            for metric, state in zip(self.metrics, saved, strict=True):  # leave no partial statistics
                _reset(metric, state)
        record["seconds"] = round(time.perf_counter() - started + shared_seconds, 3)
        self.done.add(pair.key)
        self.store.save_state(
            {
                "metric_states": [m.state_dict() for m in self.metrics],
                "included_ids": sorted(self.done),
                "last_record": record,
            }
        )
        self.store.append_record(record)
        return record

    def _load(self, pair):
        """Decode and pair one clip → ScoringSample (raises the clip's StfbenchError)."""
        from stfbench.media import read_clip
        from stfbench.metrics import ScoringSample
        from stfbench.metrics.base import MismatchError

        if pair.pred is None:
            raise MissingOutputError("no generated clip for this ground-truth clip", pair.gt)
        needs_audio = "lse" in self.names
        clip = read_clip(pair.pred, pair.audio, resample=self.resample, require_audio=needs_audio)
        frames = clip.frames
        gt_frames = None
        if any(n != "lse" for n in self.names):
            if pair.gt is None:
                raise MismatchError("no ground-truth clip pairs with it", pair.pred)
            gt_frames = read_clip(pair.gt, resample=self.resample, require_audio=False).frames
            if gt_frames.shape[1:] != frames.shape[1:]:
                raise MismatchError(
                    f"frame size {frames.shape[1:3]} differs from ground truth {gt_frames.shape[1:3]}", pair.pred
                )
            if len(gt_frames) != len(frames):
                if not self.trim:
                    hint = " or --pairing images to pair image files by name" if Path(pair.pred).is_dir() else ""
                    raise MismatchError(
                        f"{len(frames)} frames, ground truth has {len(gt_frames)} (pass --trim{hint})", pair.pred
                    )
                length = min(len(frames), len(gt_frames))
                frames, gt_frames = frames[:length], gt_frames[:length]
        return ScoringSample(pair.key, frames, gt_frames, frames, clip.audio, clip.fps, clip.sample_rate)

    def _values(self, sample) -> dict[str, float]:
        values: dict[str, float] = {}
        for metric in self.metrics:
            values.update({k: float(v) for k, v in metric.update(sample).items()})
        return values

    def finish(self) -> dict[str, Any]:
        from stfbench import provenance
        from stfbench.runner.summary import summarize

        records = self.store.read_records()
        dataset: dict[str, float] = {}
        for metric in self.metrics:
            dataset.update(metric.compute())
        count_keys = {key: text for metric in self.metrics for key, text in metric.count_keys.items()}
        summary = summarize(records, dataset, len(self.pairs), seed=0, count_keys=count_keys)
        summary["schema"] = "stfbench.score/1"
        summary.update({key: _json_float(value) for key, value in dataset.items()})
        summary["metric_names"] = {key: m.name for m in self.metrics for key in m.keys}
        for name in self.provenance.get("unavailable", {}):  # e.g. FID on the synthetic protocol without Inception
            summary[name] = None
            summary["metric_names"][name] = f"{name} (n/a: weights missing)"
        summary["metric_settings"] = {m.name: m.settings() for m in self.metrics}
        summary["provenance"] = {
            **provenance.base_provenance(self.provenance.get("device")),
            **self.provenance,
            STARTS: self.starts,
        }
        self.store.write_summary(_jsonable(summary))
        return summary


class MissingOutputError(StfbenchError):
    """A ground-truth clip has no generated counterpart."""

    status = "missing-output"


#: The settings a `--resume` must match (written when a score run starts), and
#: under `STARTS` each start's time, command and device (recorded, not matched).
SETTINGS = "settings.json"
STARTS = "starts"


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:500] if lines else type(error).__name__


def _reset(metric, state: dict[str, Any]) -> None:
    """Restore a metric's statistics to `state` (its state after the last good clip)."""
    metric.reset()
    metric.merge(copy.deepcopy(state))


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _json_float(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


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
