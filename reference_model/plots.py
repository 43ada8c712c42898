"""Matplotlib figures: training loss curves from a run's JSONL log."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_losses(log_path: str | Path, png_path: str | Path) -> Path:
    """One panel per logged quantity (training losses and `val_*` numbers) against the step."""
    records = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    keys = sorted({k for r in records for k in r if k != "step"})
    columns = 4
    rows = max(1, -(-len(keys) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.6 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        points = [(r["step"], r[key]) for r in records if key in r]
        ax.plot(*zip(*points, strict=True), marker="." if len(points) < 30 else None)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
