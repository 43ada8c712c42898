"""Streaming Gaussian statistics of feature vectors and the Fréchet distance between two of them.

`FeatureStats` keeps count, Σx and Σxxᵀ in float64 (plus fewer than `FOLD_ROWS` rows not yet folded in), so
memory is O(D²) whatever the number of frames; mean and covariance (N − 1, as `np.cov(rowvar=False)`) are
derived on demand. The distance is
pytorch-fid's `calculate_frechet_distance` (scipy `sqrtm` path, same eps fallback).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance

from stfbench.errors import StfbenchError
from stfbench.metrics.base import Metric


class FeatureStats:
    """Running sums of D-dimensional features: n, Σx (D,), Σxxᵀ (D, D), all float64.

    Added rows wait in a pending block (kept in their own dtype) and are folded into the sums `FOLD_ROWS` at
    a time: one large product instead of one per clip, and a saved state only has to rewrite the pending
    rows. The folded arrays are read-only and replaced by new ones at each fold, never changed in place, so
    a run store can tell an unchanged one by its identity. The fold points depend only on the sequence of
    rows added, so a resumed run (its pending rows restored) folds exactly like an uninterrupted one.
    """

    FOLD_ROWS = 256

    def __init__(self, dims: int, n: int = 0, total=None, outer=None, pending=None) -> None:
        self.dims = dims
        self.folded_n = n
        self.folded_total = _frozen(np.zeros(dims, np.float64) if total is None else total)  # (D,)
        self.folded_outer = _frozen(np.zeros((dims, dims), np.float64) if outer is None else outer)  # (D, D)
        self.pending: list[np.ndarray] = [] if pending is None or not len(pending) else [np.asarray(pending)]

    @classmethod
    def empty(cls, dims: int) -> FeatureStats:
        return cls(dims)

    def add(self, features: np.ndarray) -> None:
        """Accumulate a batch of features (B, D)."""
        rows = np.asarray(features)
        if rows.ndim != 2 or rows.shape[1] != self.dims:
            raise ValueError(f"features of shape {rows.shape}: expected (B, {self.dims})")
        if not np.issubdtype(rows.dtype, np.floating):
            rows = rows.astype(np.float64)
        self.pending.append(rows.copy())
        if self.pending_rows >= self.FOLD_ROWS:
            self._fold()

    def merge(self, other: FeatureStats) -> None:
        """Add `other`'s folded sums and append its pending rows (into an empty FeatureStats: an exact copy)."""
        self.folded_n += other.folded_n
        self.folded_total = _frozen(self.folded_total + other.folded_total)
        self.folded_outer = _frozen(self.folded_outer + other.folded_outer)
        self.pending.extend(other.pending)
        if self.pending_rows >= self.FOLD_ROWS:
            self._fold()

    @property
    def pending_rows(self) -> int:
        return sum(len(rows) for rows in self.pending)

    def _fold(self) -> None:
        x = np.concatenate(self.pending).astype(np.float64)  # (P, D)
        self.folded_n += len(x)
        self.folded_total = _frozen(self.folded_total + x.sum(axis=0))
        self.folded_outer = _frozen(self.folded_outer + x.T @ x)
        self.pending = []

    def sums(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(n, Σx, Σxxᵀ) over folded and pending rows, leaving the fold points untouched."""
        if not self.pending:
            return self.folded_n, self.folded_total, self.folded_outer
        x = np.concatenate(self.pending).astype(np.float64)  # (P, D)
        return self.folded_n + len(x), self.folded_total + x.sum(axis=0), self.folded_outer + x.T @ x

    @property
    def n(self) -> int:
        return self.folded_n + self.pending_rows

    @property
    def mu(self) -> np.ndarray:
        n, total, _ = self.sums()
        return total / n

    @property
    def sigma(self) -> np.ndarray:
        """Sample covariance (divides by n − 1, like `np.cov`)."""
        n, total, outer = self.sums()
        mu = total / n
        return (outer - n * np.outer(mu, mu)) / (n - 1)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The folded sums (the read-only arrays themselves) and the pending rows (P, D)."""
        pending = np.concatenate(self.pending) if self.pending else np.zeros((0, self.dims), np.float64)
        folded = {"n": np.array(self.folded_n), "total": self.folded_total, "outer": self.folded_outer}
        return {**folded, "pending": pending}

    @classmethod
    def from_arrays(cls, arrays: dict) -> FeatureStats:
        total = np.asarray(arrays["total"], np.float64)
        return cls(len(total), int(arrays["n"]), total, np.asarray(arrays["outer"], np.float64), arrays.get("pending"))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, np.float64) if array.flags.writeable else array
    array.flags.writeable = False
    return array


def save_stats(path: str | Path, stats: FeatureStats) -> Path:
    """Write pytorch-fid-compatible `mu`, `sigma` (+ `n`, `total`, `outer`) to an .npz, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial.npz")
    n, total, outer = stats.sums()
    np.savez(tmp, mu=stats.mu, sigma=stats.sigma, n=np.array(n), total=total, outer=outer)
    tmp.replace(path)
    return path


def load_stats(path: str | Path) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(mu, sigma, n or None) from an .npz written by `save_stats` or by pytorch-fid `--save-stats`."""
    path = Path(path)
    try:
        with np.load(path) as data:
            mu, sigma = data["mu"], data["sigma"]
            n = int(data["n"]) if "n" in data else None
    except (OSError, KeyError, ValueError) as error:
        raise StfbenchError(f"not a FID statistics file with mu and sigma ({error})", path) from None
    return mu, sigma, n


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) (pytorch-fid's implementation, eps 1e-6 fallback)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The `disp` argument is deprecated", DeprecationWarning)
        return float(calculate_frechet_distance(mu1, sigma1, mu2, sigma2))


class FrechetMetric(Metric):
    """A dataset-level Fréchet distance (↓, ≥ 0) between the features of generated and real data: streaming
    `FeatureStats` of both sides, their state and merge, and the distance at `compute()`. Subclasses set
    `keys` (one key, also the label of warnings), `dims` and `features`, and feed `self.pred` / `self.gt`."""

    dims: int

    def reset(self) -> None:
        self.pred = FeatureStats.empty(self.dims)
        self.gt = FeatureStats.empty(self.dims)

    def gt_features(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """`features` (n, D) of ground-truth input (frames or windows): the ground-truth side, cached per clip."""
        return {"features": self.features(frames)}

    def gt_moments(self) -> tuple[np.ndarray, np.ndarray, int | None] | None:
        """(μ, Σ, n or None) of the real side, or None while it has fewer than 2 samples."""
        return (self.gt.mu, self.gt.sigma, self.gt.n) if self.gt.n >= 2 else None

    def compute(self) -> dict[str, float]:
        key = self.keys[0]
        moments = self.gt_moments() if self.pred.n >= 2 else None
        if moments is None:
            return {key: float("nan")}
        mu_gt, sigma_gt, n_gt = moments
        warn_if_few(self.pred.n, self.dims, "generated", key.upper())
        if n_gt is not None:
            warn_if_few(n_gt, self.dims, "ground truth", key.upper())
        return {key: frechet_distance(self.pred.mu, self.pred.sigma, mu_gt, sigma_gt)}

    def state_dict(self) -> dict[str, Any]:
        return {"pred": self.pred.to_arrays(), "gt": self.gt.to_arrays()}

    def merge(self, state: dict[str, Any]) -> None:
        self.pred.merge(FeatureStats.from_arrays(state["pred"]))
        self.gt.merge(FeatureStats.from_arrays(state["gt"]))


def warn_if_few(n: int, dims: int, which: str, metric: str = "FID") -> None:
    if n < dims:
        warnings.warn(
            f"{metric} {which}: {n} samples < {dims} feature dimensions; the covariance is singular and {metric} is "
            "biased",
            stacklevel=3,
        )
