"""Run state without pickles: metric statistics as strict JSON plus one `.npz` of arrays.

`encode(obj)` → (JSON-able tree, arrays): arrays and tensors go to the `.npz` under generated keys and are
referenced as {"__array__": key} ({"__tensor__": key} for torch tensors); non-finite floats become
{"__float__": "nan" | "inf" | "-inf"}; tuples {"__tuple__": [...]}. `decode` inverts it exactly (float64
values and array dtypes included). Anything else (objects, non-string keys) is refused, so a state file can
never name code to run, and the `.npz` is read with `allow_pickle=False`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SCHEMA = "stfbench-run-state/1"


def encode(obj: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """The JSON tree of `obj` and the arrays it references."""
    arrays: dict[str, np.ndarray] = {}
    return _encode(obj, arrays), arrays


def decode(tree: Any, arrays: Any) -> Any:
    """Rebuild the object `encode` described, arrays taken from `arrays` (an npz mapping)."""
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if set(tree) == {"__array__"}:
        return np.array(arrays[tree["__array__"]])
    if set(tree) == {"__tensor__"}:
        import torch

        return torch.from_numpy(np.array(arrays[tree["__tensor__"]]))
    if set(tree) == {"__float__"}:
        return float(tree["__float__"])
    if set(tree) == {"__tuple__"}:
        return tuple(decode(v, arrays) for v in tree["__tuple__"])
    return {k: decode(v, arrays) for k, v in tree.items()}


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays)
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        key = f"a{len(arrays)}"
        arrays[key] = obj.detach().cpu().numpy()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError(f"run state keys must be strings, got {sorted(map(repr, obj))[:3]}")
        if len(obj) == 1 and next(iter(obj)) in ("__array__", "__tensor__", "__float__", "__tuple__"):
            raise TypeError(f"run state key {next(iter(obj))!r} is reserved")
        return {k: _encode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    raise TypeError(f"run state cannot hold a {type(obj).__name__}")
