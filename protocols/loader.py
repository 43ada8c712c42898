"""Load and validate protocol TOML files (`protocols/*.toml`, or any path)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from stfbench.errors import ProtocolError
from stfbench.protocols.spec import (
    CLIP_LIST_SOURCES,
    DATASETS,
    DETECTORS,
    HASH_KINDS,
    LAYOUTS,
    LMD_BACKENDS,
    LMD_VARIANTS,
    LSE_PRECISIONS,
    LSE_VARIANTS,
    METRIC_NAMES,
    PAIRING_MODES,
    REFERENCE_RULES,
    ClipListSpec,
    CropSpec,
    MetricSettings,
    PairingSpec,
    Protocol,
    ReferenceSpec,
    SyntheticSpec,
)

PROTOCOL_DIR = Path(__file__).resolve().parent
_SHA256 = re.compile(r"[0-9a-f]{64}")


def list_protocols() -> list[str]:
    """Names of the shipped protocols (the `protocols/*.toml` file stems), sorted."""
    return sorted(path.stem for path in PROTOCOL_DIR.glob("*.toml"))


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A shipped protocol by name ("lrs2", "lrw", "lrs2-wav2lip", "lrw-wav2lip", "synthetic") or a TOML path."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".toml") or "/" in text else PROTOCOL_DIR / f"{text}.toml"
    if not path.is_file():
        if path.parent == PROTOCOL_DIR:
            raise ProtocolError(f"unknown protocol {text!r} (shipped: {', '.join(list_protocols())})")
        raise ProtocolError("protocol file not found", path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ProtocolError(f"not valid TOML ({error})", path) from None
    try:
        return _build(data, path)
    except ProtocolError as error:
        raise ProtocolError(str(error), path) from None


def _build(data: dict[str, Any], path: Path) -> Protocol:
    top = _Table(data, "")
    clip_list = _Table(top.table("clip_list"), "clip_list")
    crop = _Table(top.table("crop"), "crop")
    pairing = _Table(top.table("pairing"), "pairing")
    reference = _Table(top.table("reference"), "reference")
    metrics = _Table(top.table("metrics"), "metrics")
    synthetic_table = top.table("synthetic", required=False)

    dataset = top.choice("dataset", DATASETS)
    spec = ClipListSpec(
        source=clip_list.choice("source", CLIP_LIST_SOURCES),
        count=clip_list.get("count", int, required=False),
        sha256=clip_list.get("sha256", str, required=False),
        hash_kind=clip_list.choice("hash_kind", HASH_KINDS, default="canonical-ids"),
        file=clip_list.get("file", str, required=False),
    )
    if spec.sha256 is not None and not _SHA256.fullmatch(spec.sha256):
        raise ProtocolError("[clip_list] sha256 must be 64 lowercase hex digits")
    if spec.source in ("list-file", "pairs-file") and not spec.file:
        raise ProtocolError(f"[clip_list] source {spec.source!r} needs a `file`")
    pairing_spec = PairingSpec(
        mode=pairing.choice("mode", PAIRING_MODES),
        pairs_file=pairing.get("pairs_file", str, required=False),
        seed=pairing.get("seed", int, default=0),
    )
    if (spec.source == "pairs-file") != (pairing_spec.pairs_file is not None):
        raise ProtocolError("[pairing] pairs_file must be set exactly when [clip_list] source is 'pairs-file'")
    if pairing_spec.pairs_file is not None and pairing_spec.pairs_file != spec.file:
        raise ProtocolError("[pairing] pairs_file must name the same file as [clip_list] file")
    names = tuple(metrics.get("names", list))
    unknown = sorted(set(names) - set(METRIC_NAMES))
    if unknown or not names:
        raise ProtocolError(f"[metrics] names: unknown or empty {unknown or names} (known: {', '.join(METRIC_NAMES)})")
    weights = metrics.get("weights", dict, default={})
    if not all(isinstance(value, str) for value in weights.values()):
        raise ProtocolError("[metrics.weights] values must be weight-registry ids (strings)")
    synthetic = None
    if synthetic_table is not None:
        table = _Table(synthetic_table, "synthetic")
        synthetic = SyntheticSpec(
            speakers=table.get("speakers", int),
            clips=table.get("clips", int),
            seed=table.get("seed", int),
            layout=table.choice("layout", LAYOUTS, default="lrs2"),
            duration_s=float(table.get("duration_s", (int, float), default=3.0)),
            image_size=table.get("image_size", int, default=160),
        )
        table.finish()
    if (dataset == "synthetic") != (synthetic is not None):
        raise ProtocolError("a [synthetic] table is required exactly when dataset = 'synthetic'")
    protocol = Protocol(
        id=top.get("id", str),
        version=top.get("version", int),
        description=top.get("description", str, default=""),
        dataset=dataset,
        split=top.get("split", str),
        fps=float(top.get("fps", (int, float))),
        sample_rate=top.get("sample_rate", int),
        clip_list=spec,
        crop=CropSpec(
            detector=crop.choice("detector", DETECTORS),
            size=crop.get("size", int),
            scale=float(crop.get("scale", (int, float), default=1.0)),
            smooth_window=crop.get("smooth_window", int, default=5),
            shift_y=float(crop.get("shift_y", (int, float), default=0.0)),
            dlib_upsample=crop.get("dlib_upsample", int, default=1),
            min_detection_ratio=float(crop.get("min_detection_ratio", (int, float), default=0.5)),
        ),
        pairing=pairing_spec,
        reference=ReferenceSpec(
            rule=reference.choice("rule", REFERENCE_RULES),
            seed=reference.get("seed", int, default=0),
            exclude_from_paired_metrics=reference.get("exclude_from_paired_metrics", bool, default=False),
        ),
        metrics=MetricSettings(
            names=names,
            lse_variant=metrics.choice("lse_variant", LSE_VARIANTS, default="fullframe224"),
            lse_precision=metrics.choice("lse_precision", LSE_PRECISIONS, default="fp32"),
            lmd_backend=metrics.choice("lmd_backend", LMD_BACKENDS, default="dlib"),
            lmd_variant=metrics.choice("lmd_variant", LMD_VARIANTS, default="mean"),
            lmd_image_size=metrics.get("lmd_image_size", int, default=0),
            fid_frame_stride=metrics.get("fid_frame_stride", int, default=1),
            ssim=metrics.get("ssim", dict, default={}),
            weights=weights,
        ),
        synthetic=synthetic,
        min_frames=top.get("min_frames", int, default=5),
        source_path=path,
    )
    for table in (top, clip_list, crop, pairing, reference, metrics):
        table.finish()
    if protocol.fps <= 0 or protocol.sample_rate <= 0 or protocol.crop.size <= 0 or protocol.crop.scale <= 0:
        raise ProtocolError("fps, sample_rate, crop size and crop scale must be positive")
    if protocol.crop.smooth_window < 1 or protocol.metrics.fid_frame_stride < 1:
        raise ProtocolError("crop smooth_window and metrics fid_frame_stride must be at least 1")
    return protocol


class _Table:
    """A TOML table read key by key; `finish()` rejects keys nobody asked for (typos must not pass)."""

    _MISSING = object()

    def __init__(self, data: dict[str, Any], name: str) -> None:
        self.data, self.name, self.used = data, name, set()

    def _label(self, key: str) -> str:
        return f"[{self.name}] {key}" if self.name else key

    def get(self, key: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is not self._MISSING:
                return default
            if required:
                raise ProtocolError(f"missing key {self._label(key)}")
            return None
        value = self.data[key]
        if (isinstance(value, bool) and kind in (int, float, (int, float))) or not isinstance(value, kind):
            raise ProtocolError(f"{self._label(key)} has the wrong type ({type(value).__name__})")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], *, default: Any = _MISSING) -> str:
        value = self.get(key, str, default=default)
        if value not in allowed:
            raise ProtocolError(f"{self._label(key)} = {value!r} is not one of {', '.join(allowed)}")
        return value

    def table(self, key: str, required: bool = True) -> dict[str, Any] | None:
        return self.get(key, dict, required=required)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ProtocolError(f"unknown key(s) {', '.join(self._label(k) for k in unknown)}")
