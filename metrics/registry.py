"""Metric registry: names → metric objects, with every weight file resolved (and verified) up front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from stfbench.errors import StfbenchError
from stfbench.metrics.base import Metric
from stfbench.metrics.settings import MetricSettings
from stfbench.weights import NO_PUBLISHED_DIGEST, ResolvedWeight, resolve_verified

#: Output key → (display name, direction, decimals) for tables.
METRIC_INFO: dict[str, tuple[str, str, int]] = {
    "psnr": ("PSNR", "↑", 3),
    "ssim": ("SSIM", "↑", 3),
    "lmd": ("LMD", "↓", 3),
    "fid": ("FID", "↓", 3),
    "fvd": ("FVD", "↓", 2),
    "lse_c": ("LSE-C", "↑", 3),
    "lse_d": ("LSE-D", "↓", 3),
    "av_offset": ("AV offset", "", 2),
    "lpips": ("LPIPS", "↓", 3),
    "lipleak": ("LipLeak", "↓", 3),
    "mar": ("MAR", "↓", 3),
    "cpbd": ("CPBD", "↑", 3),
    "csim": ("CSIM", "↑", 3),
}

#: Metric name → output keys it produces.
METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "psnr": ("psnr",),
    "ssim": ("ssim",),
    "lmd": ("lmd",),
    "fid": ("fid",),
    "fvd": ("fvd",),
    "lse": ("lse_c", "lse_d", "av_offset"),
    "lpips": ("lpips",),
    "lipleak": ("lipleak", "mar"),
    "cpbd": ("cpbd",),
    "csim": ("csim",),
}

#: Metrics that compare against ground truth (LSE needs only the generated video and its audio).
#: CSIM reads the model's reference frame, which `score` takes from the ground truth.
NEEDS_GT = frozenset({"psnr", "ssim", "lmd", "fid", "fvd", "lpips", "csim"})


def weights_needed(name: str, settings: MetricSettings) -> list[str]:
    """Weight ids a metric needs under `settings`."""
    if name == "fid":
        return ["pt_inception"]
    if name == "fvd":
        return ["i3d_torchscript"]
    if name == "lse":
        detector = ["s3fd"] if settings.lse.variant == "facecrop" and settings.lse.detector == "s3fd" else []
        return [settings.lse.weights, *detector]
    landmarker = ["dlib_68"] if settings.lmd.backend == "dlib" else ["fan_2d", "s3fd"]
    if name in ("lmd", "lipleak"):  # LipLeak uses LMD's landmarker
        return landmarker
    if name == "csim":  # aligned with LMD's landmarker
        return [settings.csim.weights, *landmarker]
    if name == "lpips":
        return ["lpips_alex", "lpips_alex_head"]
    return []


def missing_weights(names: str | Sequence[str], settings: Any = None, trust_unverified: bool = False) -> dict[str, str]:
    """Metric name → one-line reason, for metrics whose weight files are missing or fail verification (with
    `trust_unverified`, only missing ones): lets a caller report e.g. FID as n/a on the synthetic protocol
    instead of failing."""
    from stfbench.errors import WeightsError

    config = MetricSettings.from_any(settings)
    missing = {}
    for name in parse_metric_names(names):
        for weight_id in weights_needed(name, config):
            try:
                resolve_verified(weight_id, trust_unverified, needed_by=name)
            except WeightsError as error:
                missing[name] = str(error)
                break
    return missing


def parse_metric_names(names: str | Sequence[str]) -> list[str]:
    """`"psnr,ssim,lse"` or a sequence → validated, de-duplicated list (order kept)."""
    items = [n.strip().lower() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in items if n not in METRIC_KEYS]
    if unknown:
        raise StfbenchError(f"unknown metric(s) {', '.join(unknown)} (known: {', '.join(METRIC_KEYS)})")
    return list(dict.fromkeys(items))


def _label(weight: ResolvedWeight) -> str:
    return weight.id if weight.verified or weight.reason == NO_PUBLISHED_DIGEST else f"{weight.id}-unverified"


def build_metrics(
    names: str | Sequence[str],
    settings: Any = None,
    device: torch.device | str = "cpu",
    trust_unverified: bool = False,
) -> list[Metric]:
    """Metric objects for `names` under a protocol's metric settings (a `MetricSettings`, a nested dict, or
    None for defaults). Every weight file is located and verified before any network is built, so a
    missing or wrong file fails fast with a `WeightsError`."""
    config = MetricSettings.from_any(settings)
    device = torch.device(device)
    names = parse_metric_names(names)
    resolved = {
        weight_id: resolve_verified(weight_id, trust_unverified, needed_by=name)
        for name in names
        for weight_id in weights_needed(name, config)
    }
    metrics = []
    for name in names:
        metric = _build(name, config, device, resolved)
        unverified = [w for w in weights_needed(name, config) if _label(resolved[w]) != w]
        if unverified and name != "lse":  # LSE names its weights (and their status) itself
            _mark_unverified(metric)
        metrics.append(metric)
    return metrics


def _mark_unverified(metric: Metric) -> None:
    """Append `-unverified` to the metric's name: numbers from weights that failed verification must not
    appear under the standard metric's name."""
    cls = type(metric)
    standard = cls.name.fget
    metric.__class__ = type(cls.__name__, (cls,), {"name": property(lambda self: f"{standard(self)}-unverified")})


def _compute_identity(device: torch.device) -> dict[str, str]:
    """What a network's float rounding depends on besides its weights: torch, the device type and the CPU's
    vector extension or the GPU model (the key of ground-truth cache entries)."""
    unit = torch.cuda.get_device_name(device) if device.type == "cuda" else torch.backends.cpu.get_cpu_capability()
    return {"torch": torch.__version__, "device": device.type, "unit": unit}


def _landmarker(config: MetricSettings, device: torch.device, weights: dict[str, ResolvedWeight]):
    """(68-point landmarker, weight provenance, ground-truth cache identity) of the LMD settings' backend."""
    from stfbench.metrics.networks.landmarks import dlib_landmarker, fan_landmarker

    c = config.lmd
    if c.backend == "dlib":
        import dlib

        landmarker = dlib_landmarker(weights["dlib_68"].path, c.upsample)
        provenance = {"dlib_68": weights["dlib_68"].provenance()}
        return landmarker, provenance, {"dlib": dlib.__version__, "upsample": c.upsample}
    if c.backend == "fan":
        import face_alignment

        landmarker = fan_landmarker(weights["fan_2d"].path, weights["s3fd"].path, device)
        provenance = {k: weights[k].provenance() for k in ("fan_2d", "s3fd")}
        return landmarker, provenance, {"face_alignment": face_alignment.__version__, **_compute_identity(device)}
    raise StfbenchError(f"unknown LMD backend {c.backend!r} (choose dlib, fan)")


def _build(name: str, config: MetricSettings, device: torch.device, weights: dict[str, ResolvedWeight]) -> Metric:
    if name == "psnr":  # each metric's imports stay in its branch (PSNR pulls in skimage and scipy.stats)
        from stfbench.metrics.psnr import PSNR

        return PSNR()
    if name == "ssim":
        from stfbench.metrics.ssim import SSIM

        return SSIM(config.ssim)
    if name == "fid":
        from stfbench.metrics.fid import FID
        from stfbench.metrics.networks.inception import inception_features, load_fid_inception

        weight = weights["pt_inception"]
        model = load_fid_inception(weight.path, config.fid.dims).to(device)

        def features(frames):
            return inception_features(model, frames, device, config.fid.batch_size)

        identity = {"inception": weight.sha256, "batch_size": config.fid.batch_size, **_compute_identity(device)}
        return FID(features, config.fid.dims, config.fid.frame_step, config.fid.gt_stats, weight.provenance(), identity)
    if name == "fvd":
        from stfbench.metrics.fvd import FVD
        from stfbench.metrics.networks.i3d import i3d_features, load_i3d

        c, weight = config.fvd, weights["i3d_torchscript"]
        model = load_i3d(weight.path).to(device)

        def windows_features(windows):
            return i3d_features(model, windows, device, c.batch_size, c.size)

        identity = {"i3d": weight.sha256, "batch_size": c.batch_size, **_compute_identity(device)}
        return FVD(windows_features, c.frames, c.stride, c.size, weight.provenance(), identity)
    if name == "lse":
        from stfbench.metrics.lse import LSE
        from stfbench.metrics.networks.syncnet import FoldedSyncNet, load_syncnet

        c = config.lse
        weight = weights[c.weights]
        net = FoldedSyncNet(load_syncnet(weight.path)).to(device)
        detector = label = None
        if c.variant == "facecrop":
            from stfbench.metrics.facecrop import dlib_hog_detector, s3fd_detector

            if c.detector == "s3fd":
                detector, label = (
                    s3fd_detector(weights["s3fd"].path, device),
                    "s3fd (face-alignment), scale 0.25, conf 0.9",
                )
            elif c.detector == "dlib-hog":
                detector, label = dlib_hog_detector(), "dlib-hog"
            else:
                raise StfbenchError(f"unknown LSE face detector {c.detector!r} (choose s3fd, dlib-hog)")
        return LSE(
            net,
            _label(weight),
            device,
            c.variant,
            c.vshift,
            c.batch_size,
            detector,
            label,
            c.crop_scale,
            {
                "syncnet": weight.provenance(),
                **({"detector": weights["s3fd"].provenance()} if "s3fd" in weights and detector else {}),
            },
            c.precision,
        )
    if name == "lipleak":
        from stfbench.metrics.lipleak import LipLeak

        landmarker, provenance, _ = _landmarker(config, device, weights)
        return LipLeak(landmarker, config.lmd.backend, config.lipleak.threshold, config.lmd.image_size, provenance)
    if name == "cpbd":
        from stfbench.metrics.cpbd import CPBD

        return CPBD(config.cpbd.frame_step)
    if name == "csim":
        import cv2

        from stfbench.metrics.csim import CSIM, ArcFaceAligner
        from stfbench.metrics.networks.arcface import load_arcface

        weight = weights[config.csim.weights]
        model = load_arcface(weight.path).to(device)
        landmarker, provenance, identity = _landmarker(config, device, weights)
        identity.update(
            arcface=weight.sha256,
            batch_size=config.csim.batch_size,
            opencv=cv2.__version__,
            **{k: w["sha256"] for k, w in provenance.items()},
            **_compute_identity(device),
        )
        published = weight.reason != NO_PUBLISHED_DIGEST
        label = weight.id if published else f"{weight.id}@{weight.sha256[:8]}"  # no published digest: the file's own
        return CSIM(
            model,
            ArcFaceAligner(landmarker, config.lmd.image_size),
            device,
            label,
            config.csim.batch_size,
            {"arcface": {**weight.provenance(), "blocks": list(model.blocks)}, **provenance},
            identity,
        )
    if name == "lmd":
        import cv2

        from stfbench.metrics.lmd import LMD

        c = config.lmd
        landmarker, provenance, identity = _landmarker(config, device, weights)
        identity.update(
            backend=c.backend, opencv=cv2.__version__, **{k: weight["sha256"] for k, weight in provenance.items()}
        )
        return LMD(landmarker, c.backend, c.reduction, c.image_size, provenance, identity)
    if name == "lpips":
        from stfbench.metrics.lpips import LPIPS, load_lpips_alex

        if config.lpips.net != "alex":
            raise StfbenchError(f"LPIPS net {config.lpips.net!r} is not supported (use alex)")
        model = load_lpips_alex(weights["lpips_alex"].path, weights["lpips_alex_head"].path, device)
        return LPIPS(
            model, device, "alex", provenance={k: weights[k].provenance() for k in ("lpips_alex", "lpips_alex_head")}
        )
    raise StfbenchError(f"unknown metric {name!r}")
