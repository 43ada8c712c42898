"""Leaderboard data model: run directories → one table (rows = models, column groups = protocols).

Rows: real models first (in the order given), then controls, then ground-truth-video rows (set apart).
The best value per column is marked among rows that do not use the ground-truth video. Values come
from each run's `summary.json`, with the provenance the runner copies into it (protocol ids + hashes,
LSE variant, metric weight SHA-256s, stfbench version).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stfbench.errors import StfbenchError
from stfbench.runner.store import RunStore

#: Default column order (metrics a run lacks are left out); `av_offset` only where a run reports it.
DEFAULT_METRIC_ORDER = (
    "psnr",
    "ssim",
    "lmd",
    "lse_d",
    "lse_c",
    "av_offset",
    "fid",
    "fvd",
    "lpips",
    "csim",
    "cpbd",
    "lipleak",
    "mar",
)
#: Columns that depend on the LSE variant (named in the protocol note only when one of them is shown).
LSE_KEYS = frozenset({"lse_d", "lse_c", "av_offset"})
#: Metrics whose ideal is the ground truth's own value rather than an extreme: a model can "beat" the
#: ground truth's LSE-C or sit at another offset; `--relative-to` adds |m − m_GT| next to each.
GT_IDEAL_KEYS = ("lse_d", "lse_c", "av_offset")
#: Suffix of a ground-truth-relative column's key: `lse_c` → `lse_c_gt_gap`.
GT_GAP = "_gt_gap"


@dataclass(frozen=True)
class MetricColumn:
    """One metric column: output key, header text, direction (`↑`, `↓` or `` for none) and decimals."""

    key: str
    display: str
    direction: str
    decimals: int


@dataclass
class Cell:
    """One value: mean, optional 95 % CI (low, high), and whether it is the column's best."""

    mean: float | None
    ci95: tuple[float, float] | None = None
    best: bool = False


@dataclass
class Row:
    label: str
    is_control: bool
    uses_ground_truth_video: bool
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (protocol id, metric key) → Cell
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # protocol id → (n_scored, n_expected)
    diagnostics: dict[str, dict[str, int]] = field(default_factory=dict)  # protocol id → count key → total

    @property
    def group(self) -> int:
        """0 = models, 1 = controls, 2 = ground-truth-video rows."""
        return 2 if self.uses_ground_truth_video else 1 if self.is_control else 0


@dataclass
class ProtocolGroup:
    id: str
    title: str
    hash: str
    lse_variant: str | None
    columns: list[MetricColumn]
    show_counts: bool  # some row has n_scored < n_expected
    pairing: str = "own audio"  # which audio drove the videos: own audio, cross pairing (how), silent audio


@dataclass
class Leaderboard:
    groups: list[ProtocolGroup]
    rows: list[Row]
    show_ci: bool
    footnotes: list[str]
    stfbench_versions: list[str]


def metric_info() -> dict[str, tuple[str, str, int]]:
    """Output key → (display name, direction, decimals), from the metrics package."""
    from stfbench.metrics import METRIC_INFO

    return dict(METRIC_INFO)


def load_summary(path: str | Path) -> dict[str, Any]:
    """`summary.json` of a finished run directory (it carries the manifest's protocol/model/metric fields)."""
    from stfbench.runner.lock import check_records

    store = RunStore(path)
    if not store.summary_path.exists():
        raise StfbenchError("not a finished run directory (no summary.json; finish it with --resume)", path)
    summary = store.read_summary()
    check_records(store.read_records(), path, summary.get("n_expected"))  # a clip twice would skew the means
    return summary


def build_leaderboard(
    run_dirs: list[str | Path],
    *,
    metrics: list[str] | None = None,
    protocols: list[str] | None = None,
    models: list[str] | None = None,
    show_ci: bool = False,
    labels: dict[str, str] | None = None,
    relative_to: str | None = None,
) -> Leaderboard:
    """Collect runs into a table. `metrics`/`protocols`/`models` select and order columns, groups, rows;
    `labels` renames rows (run label → new label); `relative_to` names the row (a ground-truth run) whose
    values the ground-truth-relative columns ΔLSE-D, ΔLSE-C, ΔAV offset = |m − m_row| are taken from."""
    info = metric_info()
    summaries = [load_summary(p) for p in run_dirs]
    rows: dict[str, Row] = {}
    group_meta: dict[str, dict[str, Any]] = {}
    present: dict[str, set[str]] = {}
    weights: dict[str, str] = {}
    unverified: set[str] = set()
    unavailable: dict[str, set[str]] = {}
    versions: set[str] = set()
    descriptions: dict[str, str] = {}  # diagnostic count key → what it counts
    for summary, path in zip(summaries, run_dirs, strict=True):
        protocol = summary["protocol"]
        model = summary["model"]
        label = (labels or {}).get(model["label"], model["label"])
        row = rows.setdefault(label, Row(label, bool(model["is_control"]), bool(model["uses_ground_truth_video"])))
        pid = group_id(protocol)
        if any(key[0] == pid for key in row.cells):
            raise StfbenchError(f"two runs of {label!r} on protocol {pid}: pass one of them", path)
        group_meta.setdefault(pid, protocol)
        if group_meta[pid]["hash"] != protocol["hash"]:
            raise StfbenchError(f"runs of protocol {pid} have different protocol hashes: not comparable", path)
        for key, stats in summary["metrics"].items():
            ci = stats.get("ci95")
            row.cells[(pid, key)] = Cell(stats["mean"], tuple(ci) if ci and None not in ci else None)
            present.setdefault(pid, set()).add(key)
        row.counts[pid] = (summary["n_scored"], summary["n_expected"])
        for key, count in (summary.get("counts") or {}).items():  # diagnostic counters (not metric columns)
            row.diagnostics.setdefault(pid, {})[key] = int(count["total"])
            descriptions[key] = str(count["description"])
        collect_weights(summary.get("metric_settings", {}), weights, unverified)
        versions.add(str(summary.get("stfbench_version")))
        for name in summary.get("unavailable_metrics") or {}:
            unavailable.setdefault(name, set()).add(pid)

    chosen_protocols = protocols or list(group_meta)
    missing = [p for p in chosen_protocols if p not in group_meta]
    if missing:
        raise StfbenchError(f"--protocols: no run of {', '.join(missing)} among the given run directories")
    groups = []
    titles = _titles({p: group_meta[p] for p in chosen_protocols})
    for pid in chosen_protocols:
        keys = [k for k in (metrics or DEFAULT_METRIC_ORDER) if k in present[pid]]
        columns = [MetricColumn(k, *info.get(k, (k, "", 3))) for k in keys]
        show_counts = any(r.counts.get(pid, (0, 0))[0] != r.counts.get(pid, (0, 0))[1] for r in rows.values())
        meta = group_meta[pid]
        lse = meta.get("lse_variant")
        if lse and meta.get("lse_precision") not in (None, "fp32"):  # reduced-precision LSE is named, as in metrics
            lse = f"{lse},{meta['lse_precision']}"
        groups.append(ProtocolGroup(pid, titles[pid], meta["hash"], lse, columns, show_counts, _pairing(meta)))

    ordered = _order_rows(list(rows.values()), models)
    if relative_to is not None:
        _add_gt_gaps(rows, groups, relative_to, info)
    _mark_best(ordered, groups)
    footnotes = _footnotes(groups, weights, unverified, unavailable, sorted(versions))
    if relative_to is not None and any(c.key.endswith(GT_GAP) for g in groups for c in g.columns):
        footnotes.insert(2, f"Δ columns: |m − m_GT|, the absolute difference from the run {relative_to!r} on the "
                            "same protocol (the ideal is the ground truth's value, not an extreme).")  # fmt: skip
    if any(g.id.endswith("+silent") for g in groups):
        footnotes.insert(2, "Silent audio: every clip driven by silence of its length (leakage test); LipLeak = "
                            "fraction of generated frames with an open mouth (inner-lip aspect ratio MAR above the "
                            "metric's threshold), MAR = its mean; the ground-truth row is the real video with its "
                            "speech.")  # fmt: skip
    footnotes[-1:-1] = _diagnostic_notes(ordered, groups, descriptions)
    return Leaderboard(groups, ordered, show_ci, footnotes, sorted(versions))


def _add_gt_gaps(rows: dict[str, Row], groups: list[ProtocolGroup], reference: str, info: dict) -> None:
    """After each shown GT-ideal column, a column |m − m_reference| (↓; the reference row's own cell is 0)."""
    if reference not in rows:
        raise StfbenchError(f"--relative-to: no run labelled {reference!r} (have: {', '.join(rows)})")
    base = rows[reference]
    for group in groups:
        columns = []
        for column in group.columns:
            columns.append(column)
            if column.key not in GT_IDEAL_KEYS:
                continue
            truth = base.cells.get((group.id, column.key))
            if truth is None or truth.mean is None or not math.isfinite(truth.mean):
                raise StfbenchError(f"--relative-to {reference}: its run on {group.id} has no {column.display} value")
            key = column.key + GT_GAP
            columns.append(MetricColumn(key, f"Δ{column.display}", "↓", column.decimals))
            for row in rows.values():
                cell = row.cells.get((group.id, column.key))
                if cell is not None and cell.mean is not None:
                    row.cells[(group.id, key)] = Cell(abs(cell.mean - truth.mean))
        group.columns = columns


def _pairing(protocol: dict[str, Any]) -> str:
    """Which audio drove the group's videos, as the protocol note says it."""
    if protocol.get("driving_audio") == "silent":
        return "silent audio"
    pairing = protocol.get("pairing")
    if not pairing:
        return "own audio"
    if pairing.get("pairs_file"):
        return f"cross pairing: pairs file {pairing['pairs_file']}"
    return f"cross pairing: seeded derangement, seed {pairing.get('seed', 0)}"


def group_id(protocol: dict[str, Any]) -> str:
    """A column group's id: the protocol id, plus `+silent` for runs driven by silent audio (`--audio silent`)."""
    audio = protocol.get("driving_audio")
    return protocol["id"] if audio in (None, "speech") else f"{protocol['id']}+{audio}"


def _order_rows(rows: list[Row], models: list[str] | None) -> list[Row]:
    if models:
        by_label = {r.label: r for r in rows}
        unknown = [m for m in models if m not in by_label]
        if unknown:
            raise StfbenchError(f"--models: no run labelled {', '.join(unknown)} (have: {', '.join(by_label)})")
        rows = [by_label[m] for m in models]
    return sorted(rows, key=lambda r: r.group)  # stable: keeps the given order within a group


def _mark_best(rows: list[Row], groups: list[ProtocolGroup]) -> None:
    """Bold the best finite value per column among rows that do not use the ground-truth video."""
    for group in groups:
        for column in group.columns:
            if column.direction not in ("↑", "↓"):
                continue
            candidates = [
                r.cells[(group.id, column.key)]
                for r in rows
                if not r.uses_ground_truth_video and (group.id, column.key) in r.cells
            ]
            finite = [c for c in candidates if c.mean is not None and math.isfinite(c.mean)]
            if not finite:
                continue
            # Compare at the printed precision, so printed ties are all bold.
            rounded = [round(c.mean, column.decimals) for c in finite]
            best = max(rounded) if column.direction == "↑" else min(rounded)
            for cell, value in zip(finite, rounded, strict=True):
                cell.best = value == best


def collect_weights(settings: dict[str, Any], weights: dict[str, str], unverified: set[str]) -> None:
    """Walk metric settings for weight provenance dicts ({id, sha256, verified})."""
    if isinstance(settings, dict):
        if "sha256" in settings and "id" in settings:
            weights[str(settings["id"])] = str(settings["sha256"])
            if settings.get("verified") is False:
                unverified.add(str(settings["id"]))
            return
        for value in settings.values():
            collect_weights(value, weights, unverified)


def _titles(protocols: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Group titles: the dataset name (LRS2, LRW, Synthetic) unless two protocols share it, then the protocol
    id; `, silent audio` for a silent-audio group."""
    by_protocol = {p["id"]: str(p.get("dataset") or p["id"]) for p in protocols.values()}
    datasets = list(by_protocol.values())
    titles = {}
    for gid, protocol in protocols.items():
        dataset = by_protocol[protocol["id"]]
        unique = datasets.count(dataset) == 1
        title = (dataset.upper() if len(dataset) <= 4 else dataset.capitalize()) if unique else protocol["id"]
        audio = protocol.get("driving_audio")
        titles[gid] = title if audio in (None, "speech") else f"{title}, {audio} audio"
    return titles


def _diagnostic_notes(rows: list[Row], groups: list[ProtocolGroup], descriptions: dict[str, str]) -> list[str]:
    """One note per diagnostic counter with a non-zero total, e.g. frames LMD left out for want of a face."""
    chosen = [g.id for g in groups]
    notes = []
    for key, description in sorted(descriptions.items()):
        found = [
            f"{row.label} {total:,}" + (f" on {pid}" if len(chosen) > 1 else "")
            for row in rows
            for pid in chosen
            if (total := row.diagnostics.get(pid, {}).get(key, 0))
        ]
        if found:
            notes.append(f"{description[:1].upper()}{description[1:]}: {', '.join(found)}.")
    return notes


def _footnotes(groups, weights: dict[str, str], unverified: set[str], unavailable: dict[str, set[str]], versions):
    notes = [
        "Protocols: "
        + "; ".join(
            f"{g.title} = {g.id} (sha256 {g.hash[:12]}, {g.pairing}"
            + (f", LSE {g.lse_variant})" if g.lse_variant and any(c.key in LSE_KEYS for c in g.columns) else ")")
            for g in groups
        )
        + ".",
        "↑ higher is better, ↓ lower is better; best per column in bold, ground-truth-video rows excluded.",
    ]
    if weights:
        notes.append("Metric weights (sha256): " + ", ".join(f"{k} {v[:12]}" for k, v in sorted(weights.items())) + ".")
    if unverified:
        notes.append(
            "WARNING: computed with unverified weights ("
            + ", ".join(sorted(unverified))
            + "): not comparable with published numbers."
        )
    for name, protocol_ids in sorted(unavailable.items()):
        notes.append(f"{name.upper()} n/a on {', '.join(sorted(protocol_ids))}: its weight file was missing.")
    notes.append(f"stfbench {', '.join(versions)}.")
    return notes
