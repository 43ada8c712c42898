"""Summary statistics of a run: per-metric means with 95 % percentile-bootstrap CIs, counts, failures."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


def bootstrap_ci(values: np.ndarray, seed: int) -> tuple[float, float]:
    """95 % percentile-bootstrap CI of the mean (1000 resamples, seeded); NaNs when fewer than 2 values."""
    if len(values) < 2 or np.all(values == values[0]):
        return (float(values[0]), float(values[0])) if len(values) >= 2 else (math.nan, math.nan)
    from scipy import stats  # here: 1–2 s to import, and a single clip (or constant values) needs none

    result = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summarize(
    records: list[dict[str, Any]],
    dataset_values: dict[str, float],
    n_expected: int,
    seed: int,
    count_keys: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Per metric key: `mean` = the metric's own dataset value (`Metric.compute()`, e.g. PSNR's mean over all
    frames, FID from pooled statistics) when it gives one, else the mean over clips; `clip_mean` = mean of
    the finite per-clip values of `ok` records; `ci95` = percentile-bootstrap 95 % CI of the clip mean
    (resampling clips; None for dataset-only metrics such as FID); `n` = clips with a value, `n_finite`.
    Per-clip keys in `count_keys` (key → what it counts, `Metric.count_keys`) are diagnostic counts: under
    `counts` {key: {`total`, `clips` (clips with a non-zero count), `n`, `description`}}, not under `metrics`.
    """
    ordered = sorted(records, key=lambda r: r["index"])
    scored = [r for r in ordered if r["status"] == "ok"]
    count_keys = count_keys or {}
    counts: dict[str, Any] = {}
    for key, description in sorted(count_keys.items()):
        values = [r["metrics"][key] for r in scored if key in r["metrics"]]
        if values:
            total, clips = round(sum(values)), sum(v > 0 for v in values)
            counts[key] = {"total": total, "clips": clips, "n": len(values), "description": description}
    keys = sorted({key for r in scored for key in r["metrics"]} - set(count_keys))
    metrics: dict[str, Any] = {}
    for key in keys:
        values = np.array([r["metrics"][key] for r in scored if key in r["metrics"]], dtype=np.float64)
        finite = values[np.isfinite(values)]
        low, high = bootstrap_ci(finite, seed) if len(finite) else (math.nan, math.nan)
        clip_mean = float(finite.mean()) if len(finite) else (float(values.mean()) if len(values) else math.nan)
        metrics[key] = {
            "mean": float(dataset_values.get(key, clip_mean)),
            "clip_mean": clip_mean,
            "ci95": [low, high],
            "n": len(values),
            "n_finite": len(finite),
        }
    for key, value in dataset_values.items():
        if key not in metrics:
            metrics[key] = {
                "mean": float(value),
                "clip_mean": None,
                "ci95": None,
                "n": len(scored),
                "n_finite": len(scored),
            }
    failures = Counter(r["status"] for r in ordered if r["status"] != "ok")
    return {
        "n_expected": n_expected,
        "n_recorded": len(ordered),
        "n_scored": len(scored),
        "failures": dict(sorted(failures.items())),
        "metrics": metrics,
        "counts": counts,
    }
