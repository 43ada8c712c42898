"""The metric-stability audit's table (Markdown, LaTeX, CSV, JSON) and figure, from its summary.

Rows are variants, columns metrics; a cell is `mean ± half-width of the 95 % CI` over clips. Paired metrics show
the variant's value against the ground truth (ideal ∞ dB / 1 / 0), no-reference metrics (LSE) the shift
m(variant) − m(lossless), as the notes say. Deterministic text: regenerating gives identical files.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from stfbench.leaderboard.render import INFINITE, MISSING, latex_escape

FORMATS = ("markdown", "latex", "csv", "json")
SUFFIXES = {"markdown": "md", "latex": "tex", "csv": "csv", "json": "json"}


def columns(summary: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(key, header, decimals) per metric key: `PSNR↑` for a value, `ΔLSE-C` for a shift."""
    from stfbench.metrics import METRIC_INFO

    found = []
    for key in summary["keys"]:
        label, direction, decimals = METRIC_INFO.get(key, (key, "", 3))
        shift = summary["measures"][key] == "shift"
        found.append((key, f"Δ{label}" if shift else f"{label}{direction}", decimals))
    return found


def cell(stats: dict[str, Any] | None, decimals: int, show_ci: bool = True) -> str:
    """`12.345 ± 0.210`, `∞`, or `–` (not scored)."""
    if stats is None or stats.get("mean") is None or (isinstance(stats["mean"], float) and math.isnan(stats["mean"])):
        return MISSING
    mean = float(stats["mean"])
    if math.isinf(mean):
        return INFINITE if mean > 0 else f"-{INFINITE}"
    text = f"{mean:+.{decimals}f}" if stats.get("shift") else f"{mean:.{decimals}f}"
    ci = stats.get("ci95")
    if show_ci and ci is not None and all(c is not None and math.isfinite(c) for c in ci):
        text += f" ± {(ci[1] - ci[0]) / 2:.{decimals}f}"
    return text


def _cells(summary: dict[str, Any], variant: str) -> list[str]:
    out = []
    for key, _, decimals in columns(summary):
        stats = summary["results"][variant].get(key)
        if stats is not None:
            stats = {**stats, "shift": summary["measures"][key] == "shift"}
        out.append(cell(stats, decimals))
    return out


def _n(summary: dict[str, Any], variant: str) -> str:
    counts = summary["counts"][variant]
    return f"{counts['n_scored']}/{counts['n_expected']}"


def notes(summary: dict[str, Any]) -> list[str]:
    """The table's notes: what a cell is, the protocol, the variants, the weights and what was n/a."""
    protocol = summary.get("protocol", {})
    lines = [
        f"Metric stability on protocol {protocol.get('id')} (sha256 {str(protocol.get('hash'))[:12]}): each variant "
        "of the ground-truth clips scored as the prediction against the lossless ground truth.",
        "Paired metrics (PSNR, SSIM, LMD): the variant's value (lossless ideal: ∞ dB, 1, 0); Δ columns: shift "
        "m(variant) − m(lossless) of the same clip. Cells: mean over clips ± half-width of the 95 % bootstrap CI "
        "(1000 resamples); n = clips scored / expected.",
        "Audio variants keep the frames: paired metrics not scored (–, exactly ideal by construction).",
    ]
    if any(name.startswith("lse") and "synthetic" in name for name in summary.get("metric_names", {}).values()):
        lines.append("LSE: the synthetic protocol's SyncNet (syncnet_synthetic), not comparable with SyncNet v2.")
    for key, reason in sorted(summary.get("unavailable", {}).items()):
        lines.append(f"{key.upper()} n/a: {reason}")
    weights = summary.get("weights", {})
    if weights:
        lines.append("Metric weights (sha256): " + ", ".join(f"{k} {v[:12]}" for k, v in sorted(weights.items())) + ".")
    encoders = summary.get("encoders", {})
    lines.append(
        "Variants: "
        + "; ".join(f"{name} = {summary['variants'][name]['description']}" for name in summary["order"])
        + f". PyAV {encoders.get('pyav')}, FFmpeg {encoders.get('ffmpeg')}."
    )
    return lines


def render(summary: dict[str, Any], fmt: str) -> str:
    """The table in `fmt` (markdown, latex, csv, json)."""
    headers = ["Variant", *[header for _, header, _ in columns(summary)], "n"]
    rows = [[name, *_cells(summary, name), _n(summary, name)] for name in summary["order"]]
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "| :-- |" + " --: |" * (len(headers) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([*lines, "", *notes(summary)]) + "\n"
    if fmt == "latex":
        return _latex(headers, rows, notes(summary))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        keys = [key for key, _, _ in columns(summary)]
        writer.writerow(["variant", "metric", "measure", "mean", "ci95_low", "ci95_high", "n", "n_finite"])
        for name in summary["order"]:
            for key in keys:
                stats = summary["results"][name].get(key)
                if stats is None:
                    continue
                ci = stats.get("ci95") or [None, None]
                values = [_csv_number(stats["mean"]), _csv_number(ci[0]), _csv_number(ci[1])]
                writer.writerow([name, key, summary["measures"][key], *values, stats["n"], stats.get("n_finite")])
        return buffer.getvalue()
    if fmt == "json":
        from stfbench.strict_json import dumps

        body = {"headers": headers, "rows": rows, "notes": notes(summary), "results": summary["results"]}
        return dumps(body, indent=1, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r} (choose {', '.join(FORMATS)})")


def _csv_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = float(value)
    return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(round(value, 6))


def _latex(headers: list[str], rows: list[list[str]], note_lines: list[str]) -> str:
    def value(text: str) -> str:
        if text == INFINITE:
            return r"$\infty$"
        return latex_escape(text).replace("±", r"$\pm$").replace("Δ", r"$\Delta$").replace("−", "$-$")

    def head(text: str) -> str:
        return value(text).replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")

    spec = "l" + "r" * (len(headers) - 1)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(head(h) for h in headers) + r" \\")
    lines.append(r"\midrule")
    for row in rows:
        cells = [value(c) for c in row]
        cells = [c.replace("+", "$+$", 1) if c.startswith("+") else c for c in cells]
        cells = ["$-$" + c[1:] if c.startswith("-") and c[1:2].isdigit() else c for c in cells]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    caption = " ".join(value(line) for line in note_lines[:3])
    lines += [rf"\caption{{{caption}}}", r"\label{tab:metric-stability}", r"\end{table}"]
    lines += [f"% {line}" for line in note_lines[3:]]
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], png_path: str | Path) -> Path:
    """One panel per metric: each variant's value or shift (lossless left out) as a point with its 95 % CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = columns(summary)
    names = [name for name in summary["order"] if name != "lossless"]
    fig, axes = plt.subplots(1, len(cols), figsize=(2.6 * len(cols) + 1.2, 0.32 * len(names) + 1.4), sharey=True)
    axes = [axes] if len(cols) == 1 else list(axes)
    positions = list(range(len(names)))
    for ax, (key, header, _) in zip(axes, cols, strict=True):
        means, errors, shown = [], [[], []], []
        for index, name in enumerate(names):
            stats = summary["results"][name].get(key)
            mean = None if stats is None else stats.get("mean")
            if mean is None or not math.isfinite(float(mean)):
                continue
            ci = stats.get("ci95")
            low, high = ci if ci and all(c is not None and math.isfinite(c) for c in ci) else (mean, mean)
            means.append(mean)
            errors[0].append(max(0.0, mean - low))
            errors[1].append(max(0.0, high - mean))
            shown.append(index)
        ax.errorbar(means, shown, xerr=errors, fmt="o", color="tab:blue", capsize=3, markersize=4)
        if summary["measures"][key] == "shift":
            ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_title(header, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(positions, names)
    axes[0].invert_yaxis()
    protocol = summary.get("protocol", {}).get("id")
    title = f"metric stability on {protocol}: value vs ground truth, Δ = shift from lossless (95 % CI)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return png_path


def write_outputs(out: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """Every table format and the figure into the audit folder."""
    written = {}
    for fmt in FORMATS:
        path = out / f"table.{SUFFIXES[fmt]}"
        path.write_text(render(summary, fmt), encoding="utf-8")
        written[fmt] = path
    written["plot"] = plot(summary, out / "audit.png")
    return written
