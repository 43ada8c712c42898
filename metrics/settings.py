"""Metric settings: one dataclass per metric, gathered in `MetricSettings` (a protocol's `[metrics]` table).

`MetricSettings.from_any` accepts None (defaults), a nested dict `{"ssim": {"sigma": 1.5}, ...}`, an object
with a `sections()` method returning such a dict (`stfbench.protocols` MetricSettings), or any object
with such attributes. Unknown keys inside a known
section are an error (typos must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from stfbench.errors import ProtocolError


@dataclass
class SsimSettings:
    """Default: Wang et al. 2004 — Gaussian window σ = 1.5 (11×11), K1 0.01, K2 0.03, population covariance."""

    gaussian_weights: bool = True
    sigma: float = 1.5
    win_size: int | None = None  # None: 7 for uniform windows, 11 (truncate 3.5σ) for Gaussian
    k1: float = 0.01
    k2: float = 0.03
    use_sample_covariance: bool = False


@dataclass
class LmdSettings:
    """backend `dlib` (paper protocol) or `fan`; reduction `mean` over mouth points or `sum` (ATVGnet code)."""

    backend: str = "dlib"
    reduction: str = "mean"
    image_size: int | None = None  # landmarks computed at this square size; None = the crops' own size
    upsample: int = 1  # dlib HOG detector upsampling (ATVGnet: 1)


@dataclass
class FidSettings:
    """pytorch-fid pool3 (2048-d); every `frame_step`-th frame of each clip; optional precomputed GT stats."""

    frame_step: int = 1
    dims: int = 2048
    batch_size: int = 50
    gt_stats: str | None = None  # .npz with mu, sigma (pytorch-fid format) [+ n]


@dataclass
class FvdSettings:
    """Kinetics-400 I3D (400-d); windows of `frames` consecutive frames every `stride` frames, resized to `size`²."""

    frames: int = 16
    stride: int = 16
    size: int = 224
    batch_size: int = 4  # windows per I3D forward pass


@dataclass
class LseSettings:
    """syncnet_python's evaluation: variant `fullframe224` or `facecrop`, weight id, ±vshift offsets; a
    `precision` other than fp32 is named in the metric (`lse[fullframe224,syncnet_v2,bf16]`)."""

    variant: str = "fullframe224"
    weights: str = "syncnet_v2"
    vshift: int = 15
    batch_size: int = 20  # windows per forward pass (consecutive clips' windows share batches)
    detector: str = "s3fd"  # facecrop only: `s3fd` (face-alignment S3FD weights) or `dlib-hog`
    crop_scale: float = 0.4
    precision: str = "fp32"  # SyncNet forward: fp32, bf16 (autocast; CPU or CUDA) or fp16 (CUDA autocast)


@dataclass
class LipLeakSettings:
    """Open-mouth threshold on the inner-lip mouth aspect ratio (landmarks: the LMD settings)."""

    threshold: float = 0.20


@dataclass
class LpipsSettings:
    net: str = "alex"


@dataclass
class CpbdSettings:
    """CPBD of every `frame_step`-th generated crop (named in the metric when not 1)."""

    frame_step: int = 1


@dataclass
class CsimSettings:
    """ArcFace weight id; landmarks (for the alignment) come from the LMD settings' landmarker."""

    weights: str = "arcface_r100"
    batch_size: int = 32


@dataclass
class MetricSettings:
    ssim: SsimSettings = field(default_factory=SsimSettings)
    lmd: LmdSettings = field(default_factory=LmdSettings)
    fid: FidSettings = field(default_factory=FidSettings)
    fvd: FvdSettings = field(default_factory=FvdSettings)
    lse: LseSettings = field(default_factory=LseSettings)
    lpips: LpipsSettings = field(default_factory=LpipsSettings)
    lipleak: LipLeakSettings = field(default_factory=LipLeakSettings)
    cpbd: CpbdSettings = field(default_factory=CpbdSettings)
    csim: CsimSettings = field(default_factory=CsimSettings)

    @classmethod
    def from_any(cls, settings: Any) -> MetricSettings:
        if settings is None:
            return cls()
        if isinstance(settings, MetricSettings):
            return settings
        if callable(getattr(settings, "sections", None)):  # a protocol's MetricSettings
            settings = settings.sections()
        elif dataclasses.is_dataclass(settings):
            settings = dataclasses.asdict(settings)
        elif not isinstance(settings, dict):
            settings = {f.name: getattr(settings, f.name) for f in dataclasses.fields(cls) if hasattr(settings, f.name)}
        result = cls()
        for section in dataclasses.fields(cls):
            values = settings.get(section.name)
            if values is None:
                continue
            if dataclasses.is_dataclass(values):
                values = dataclasses.asdict(values)
            current = getattr(result, section.name)
            known = {f.name for f in dataclasses.fields(current)}
            unknown = set(values) - known
            if unknown:
                raise ProtocolError(
                    f"metric settings [{section.name}]: unknown key(s) {', '.join(sorted(unknown))} "
                    f"(known: {', '.join(sorted(known))})"
                )
            setattr(result, section.name, dataclasses.replace(current, **values))
        return result
