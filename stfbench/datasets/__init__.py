"""Dataset readers (LRS2, LRW, synthetic layouts), dataset checks and face-crop preparation.

Names are imported from their submodule on first use, so that reading a layout (`stfbench.datasets.layout`,
used by the protocol loader) does not import torch and the media stack that `prepare` needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULE = {
    "ClipProblem": "check",
    "DatasetCheck": "check",
    "check_dataset": "check",
    "clip_path": "layout",
    "find_list_file": "layout",
    "layout_of": "layout",
    "read_id_list": "layout",
    "read_layout": "layout",
    "read_pairs": "layout",
    "ClipRecord": "prepare",
    "PreparedClip": "prepare",
    "PrepareReport": "prepare",
    "load_prepared": "prepare",
    "prepare_clip": "prepare",
    "prepare_protocol": "prepare",
    "prepared_dir": "prepare",
}

__all__ = sorted(_SUBMODULE)


def __getattr__(name: str) -> Any:
    if name not in _SUBMODULE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SUBMODULE[name]}"), name)
    globals()[name] = value
    return value
