"""Checkerboard check: high-frequency energy of the generated mouth region against the ground truth's.

    python benchmarks/bench_checkerboard.py [--models synctalkface,wav2lip,...] [--clips N] [--cutoffs 0.25,0.45]

Runs each model on the synthetic protocol's test clips exactly as `stfbench run` does (crop space, the
protocol's reference rule, the reference frame left out), takes the lower half of every crop (the region
the model regenerates) and prints, per cutoff, the fraction of its spectral energy at or above the cutoff
(cycles/pixel along either axis; luma, mean removed, Hann window). 0.45 isolates the band next to Nyquist
(0.5 = a one-pixel checkerboard, the period of stride-2 transposed-convolution artefacts in the last
upsampling stage); 0.25 (2×2-pixel squares) also counts fine texture, so blur lowers it. `ratio` pools
the energies over all frames and clips (clips with more texture weigh more); the per-clip ratios'
geometric mean weighs every clip alike. A ratio generated / ground truth well above 1 means checkerboard
or noise; well below 1, a mouth blurrier than the ground truth. A model is `name` or `name:checkpoint` (a file or
weight-registry id), as for `stfbench run --model name --checkpoint checkpoint`; by default the three
committed synthetic-protocol generators (whatever the registry names).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

DEFAULT_MODELS = "synctalkface,synctalkface:synctalkface_tiny_synthetic_slots0,wav2lip"
LUMA = np.array([0.299, 0.587, 0.114])
FLAT_ENERGY_PER_PIXEL = 1e-6  # below this the images are flat up to rounding error (a grey level is 1)


def spectral_energy(images: np.ndarray, cutoff: float = 0.25) -> tuple[float, float]:
    """(high, total) spectral energy of (N, H, W, 3) uint8 images: luma, weighted mean removed, Hann window;
    `high` = energy at frequencies with max(|f_y|, |f_x|) ≥ `cutoff` cycles/pixel (0 < cutoff ≤ 0.5)."""
    if not 0 < cutoff <= 0.5:
        raise ValueError(f"cutoff {cutoff}: expected cycles/pixel in (0, 0.5]")
    height, width = images.shape[1:3]
    window = np.outer(np.hanning(height), np.hanning(width))  # (H, W)
    luma = images.astype(np.float64) @ LUMA  # (N, H, W)
    luma -= (luma * window).sum(axis=(1, 2), keepdims=True) / window.sum()
    power = np.abs(np.fft.fft2(luma * window)) ** 2  # (N, H, W)
    high = np.maximum(np.abs(np.fft.fftfreq(height))[:, None], np.abs(np.fft.fftfreq(width))[None, :]) >= cutoff
    return float(power[:, high].sum()), float(power.sum())


def high_frequency_fraction(images: np.ndarray, cutoff: float = 0.25) -> float:
    """Fraction of the spectral energy of (N, H, W, 3) uint8 images at or above `cutoff` (0 for flat images)."""
    high, total = spectral_energy(images, cutoff)
    return high / total if total > FLAT_ENERGY_PER_PIXEL * images[..., 0].size else 0.0


def high_frequency_ratio(generated: np.ndarray, ground_truth: np.ndarray, cutoff: float = 0.25) -> float:
    """high_frequency_fraction(generated) / high_frequency_fraction(ground_truth) (NaN when the latter is 0)."""
    reference = high_frequency_fraction(ground_truth, cutoff)
    return high_frequency_fraction(generated, cutoff) / reference if reference > 0 else float("nan")


def main() -> None:
    from bench_startup import machine
    from protocol_samples import protocol_samples

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated name[:checkpoint]")
    parser.add_argument("--clips", type=int, default=None, help="first N test clips (default: all)")
    parser.add_argument("--cutoffs", default="0.25,0.45", help="comma-separated cycles/pixel (0.5 = Nyquist)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    indices = None if args.clips is None else list(range(args.clips))
    cutoffs = [float(c) for c in args.cutoffs.split(",")]
    print(f"machine: {machine()}, device {args.device}, torch threads {torch.get_num_threads()}")
    print("synthetic protocol, test split, lower half of each crop; HF = energy at ≥ cutoff cycles/px")
    print("| model | checkpoint | clips | frames | cutoff | HF fraction | ground truth | ratio "
          "| per-clip ratio (geo. mean) | clips with ratio > 1 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in args.models.split(","):
        name, _, checkpoint = spec.partition(":")
        samples, provenance = protocol_samples(name, checkpoint or None, clip_indices=indices, device=args.device)
        half = samples[0].gt.shape[1] // 2
        generated = [s.generated[s.scored, half:] for s in samples]  # (T_scored, S/2, S, 3) each
        truth = [s.gt[s.scored, half:] for s in samples]
        label = f"{Path(provenance['checkpoint']).name} ({provenance['checkpoint_sha256'][:12]})"
        for cutoff in cutoffs:
            energy = np.array([[spectral_energy(x, cutoff) for x in group] for group in (generated, truth)])
            fraction, gt_fraction = energy[..., 0].sum(1) / energy[..., 1].sum(1)  # pooled over frames and clips
            ratios = np.array([high_frequency_ratio(g, t, cutoff) for g, t in zip(generated, truth, strict=True)])
            print(
                f"| {name} | {label} | {len(samples)} | {sum(len(g) for g in generated)} | {cutoff} | "
                f"{fraction:.4f} | {gt_fraction:.4f} | {fraction / gt_fraction:.3f} | "
                f"{np.exp(np.log(ratios).mean()):.3f} | {(ratios > 1).sum()} / {len(samples)} |"
            )


if __name__ == "__main__":
    main()
