"""Metrics: PSNR, SSIM, LMD, FID, LSE-C/LSE-D, LPIPS (imported as `stfbench.metrics`).

`build_metrics(names, settings, device)` gives ready metric objects with their weights verified;
`METRIC_INFO` gives each output key's display name, direction and decimals for tables.
"""

from stfbench.metrics.base import Metric, MismatchError, ScoringSample
from stfbench.metrics.registry import (
    METRIC_INFO,
    METRIC_KEYS,
    NEEDS_GT,
    build_metrics,
    missing_weights,
    parse_metric_names,
)
from stfbench.metrics.settings import MetricSettings

__all__ = [
    "METRIC_INFO",
    "METRIC_KEYS",
    "NEEDS_GT",
    "Metric",
    "MetricSettings",
    "MismatchError",
    "ScoringSample",
    "build_metrics",
    "missing_weights",
    "parse_metric_names",
]
