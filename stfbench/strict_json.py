"""Strict JSON (RFC 8259: no `NaN` / `Infinity` literals) for every file stfbench writes.

Non-finite floats are encoded as: NaN → null, +inf / -inf → the strings "inf" / "-inf" (e.g. the PSNR of
identical frames); `number` turns those strings back into floats when reading.
"""

from __future__ import annotations

import json
import math
from typing import Any


def encode(obj: Any) -> Any:
    """`obj` with every non-finite float replaced (NaN → None, ±inf → "inf" / "-inf"); numpy scalars as Python."""
    if isinstance(obj, dict):
        return {key: encode(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [encode(value) for value in obj]
    if hasattr(obj, "item") and getattr(obj, "shape", None) == ():  # a numpy scalar (numpy not imported here)
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def number(value: Any) -> Any:
    """A value read from strict JSON: "inf" / "-inf" → float infinities; anything else unchanged."""
    return float(value) if value in ("inf", "-inf") else value


def dumps(obj: Any, **options: Any) -> str:
    """Strict JSON text of `obj` (non-finite floats encoded by `encode`; unknown objects as `str`)."""
    return json.dumps(encode(obj), allow_nan=False, default=str, **options)
