"""Streaming Gaussian statistics of feature vectors and the Fréchet distance between two of them.

`FeatureStats` keeps count, Σx and Σxxᵀ in float64, so memory is O(D²) whatever the number of frames;
mean and covariance (N − 1, as `np.cov(rowvar=False)`) are derived on demand. The distance is
pytorch-fid's `calculate_frechet_distance` (scipy `sqrtm` path, same eps fallback).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance

from stfbench.errors import StfbenchError


@dataclass
class FeatureStats:
    """Running sums of D-dimensional features: n, Σx (D,), Σxxᵀ (D, D), all float64."""

    n: int
    total: np.ndarray  # (D,)
    outer: np.ndarray  # (D, D)

    @classmethod
    def empty(cls, dims: int) -> FeatureStats:
        return cls(0, np.zeros(dims, np.float64), np.zeros((dims, dims), np.float64))

    def add(self, features: np.ndarray) -> None:
        """Accumulate a batch of features (B, D)."""
        x = np.asarray(features, np.float64)
        self.n += x.shape[0]
        self.total += x.sum(axis=0)
        self.outer += x.T @ x

    def merge(self, other: FeatureStats) -> None:
        self.n += other.n
        self.total += other.total
        self.outer += other.outer

    @property
    def mu(self) -> np.ndarray:
        return self.total / self.n

    @property
    def sigma(self) -> np.ndarray:
        """Sample covariance (divides by n − 1, like `np.cov`)."""
        mu = self.mu
        return (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"n": np.array(self.n), "total": self.total, "outer": self.outer}

    @classmethod
    def from_arrays(cls, arrays: dict) -> FeatureStats:
        return cls(int(arrays["n"]), np.asarray(arrays["total"], np.float64), np.asarray(arrays["outer"], np.float64))


def save_stats(path: str | Path, stats: FeatureStats) -> Path:
    """Write pytorch-fid-compatible `mu`, `sigma` (+ `n`, `total`, `outer`) to an .npz, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial.npz")
    np.savez(tmp, mu=stats.mu, sigma=stats.sigma, **stats.to_arrays())
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


def warn_if_few(n: int, dims: int, which: str) -> None:
    if n < dims:
        warnings.warn(
            f"FID {which}: {n} samples < {dims} feature dimensions; the covariance is singular and FID is biased",
            stacklevel=3,
        )
