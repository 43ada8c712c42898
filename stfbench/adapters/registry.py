"""Model registry: built-in names, `package.module:Class` specs, and the `stfbench.models` entry points.

`load_adapter(spec, **options)` builds the adapter; options whose value is None are dropped, and an option
the class does not accept is a one-line error naming it.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points
from typing import Any

from stfbench.adapters.base import ModelAdapter
from stfbench.errors import StfbenchError

ENTRY_POINT_GROUP = "stfbench.models"

#: Built-in adapters: name → (`module:Class`, one-line description).
BUILTIN_MODELS: dict[str, tuple[str, str]] = {
    "synctalkface": ("stfbench.adapters.synctalkface:SyncTalkFaceAdapter", "SyncTalkFace reference model"),
    "wav2lip": ("stfbench.adapters.wav2lip.adapter:Wav2LipAdapter", "Wav2Lip 96×96 (public or trained here)"),
    "static": ("stfbench.adapters.controls:StaticAdapter", "control: reference frame repeated (floor)"),
    "ground-truth": ("stfbench.adapters.controls:GroundTruthAdapter", "control: the target video (upper bound)"),
    "shifted-audio": ("stfbench.adapters.controls:ShiftedAudioAdapter", "control: ground truth, audio moved k frames"),
    "mismatched-audio": (
        "stfbench.adapters.controls:MismatchedAudioAdapter",
        "control: ground truth with another clip's audio",
    ),
    "outputs": ("stfbench.adapters.external:OutputsAdapter", "pre-generated clips from a folder (--dir)"),
    "command": ("stfbench.adapters.external:CommandAdapter", "external inference command per clip (--template)"),
}


def available_models() -> dict[str, str]:
    """Every selectable name → its `module:Class` target (built-ins, then installed entry points)."""
    found = {name: target for name, (target, _) in BUILTIN_MODELS.items()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


def resolve_adapter_class(spec: str) -> type[ModelAdapter]:
    """A registered name, an entry-point name, or `package.module:Class` → the adapter class."""
    target = available_models().get(spec, spec)
    if ":" not in target:
        names = ", ".join(sorted(available_models()))
        raise StfbenchError(f"--model {spec}: unknown model (built-in: {names}; or give package.module:Class)")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StfbenchError(f"--model {spec}: cannot import {module_name} ({error})") from None
    cls = getattr(module, class_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, ModelAdapter)):
        raise StfbenchError(f"--model {spec}: {target} is not a ModelAdapter subclass")
    return cls


def load_adapter(spec: str, **options: Any) -> ModelAdapter:
    """Construct the adapter named by `spec` with the given keyword options (None values dropped)."""
    cls = resolve_adapter_class(spec)
    given = {key: value for key, value in options.items() if value is not None}
    init = cls.__init__
    parameters = {} if init is object.__init__ else dict(inspect.signature(init).parameters)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(key for key in given if key not in parameters and not takes_any)
    if unknown:
        accepted = [p for p in parameters if p not in ("self", "args", "kwargs")]
        raise StfbenchError(
            f"--model {spec}: does not take option(s) {', '.join(unknown)} (it takes: {accepted or 'none'})"
        )
    missing = [
        p.name
        for p in parameters.values()
        if p.name != "self"
        and p.default is inspect.Parameter.empty
        and p.kind is p.POSITIONAL_OR_KEYWORD
        and p.name not in given
    ]
    if missing:
        raise StfbenchError(f"--model {spec}: needs option(s) {', '.join('--' + m.replace('_', '-') for m in missing)}")
    return cls(**given)
