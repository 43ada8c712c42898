"""Matplotlib figures of a run's per-frame sidecars (`--per-frame`): LSE's offset curve and per-frame sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from stfbench.errors import StfbenchError

FPS = 25.0  # SyncNet windows step one frame at 25 fps


def sync_detail(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(metric name, detail) of the LSE entry of a per-frame sidecar; a one-line error when it has none."""
    found = [(name, detail) for name, detail in document.get("metrics", {}).items() if name.startswith("lse[")]
    if not found:
        raise StfbenchError(f"clip {document.get('clip_id')!r}: its per-frame file has no LSE detail (score lse)")
    return found[0]


def plot_sync(document: dict[str, Any], png_path: str | Path) -> Path:
    """Two panels: mean SyncNet distance per AV offset (LSE-D at the minimum, LSE-C = median − minimum), and the
    per-window confidence over time, raw and 9-tap median-filtered (syncnet_python's fconf / fconfm)."""
    name, detail = sync_detail(document)
    fig, (curve, frames) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 1.6]})
    offsets, dists = detail["offsets"], detail["mean_dists"]
    median = sorted(dists)[(len(dists) - 1) // 2]
    curve.plot(offsets, dists, marker=".", color="tab:blue")
    curve.axhline(median, color="grey", linestyle=":", linewidth=1, label=f"median {median:.3f}")
    best = f"offset {detail['av_offset']:+d}: LSE-D {detail['lse_d']:.3f}, LSE-C {detail['lse_c']:.3f}"
    curve.plot([detail["av_offset"]], [detail["lse_d"]], "o", color="tab:red", label=best)
    curve.set_xlabel("AV offset (frames; + = audio earlier)")
    curve.set_ylabel("mean distance")
    curve.legend(fontsize=7, loc="best")
    seconds = [i / FPS for i in range(len(detail["frame_conf"]))]
    frames.plot(seconds, detail["frame_conf"], color="tab:blue", alpha=0.45, linewidth=1, label="per window")
    frames.plot(seconds, detail["frame_conf_medfilt9"], color="tab:blue", linewidth=2, label="median filter, 9")
    frames.axhline(0, color="grey", linewidth=0.8)
    frames.set_xlabel("window start (s; window i = frames i…i+4)")
    frames.set_ylabel("confidence at the clip's offset")
    frames.legend(fontsize=7, loc="best")
    fig.suptitle(f"{document.get('clip_id')}: {name}", fontsize=10)
    fig.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
