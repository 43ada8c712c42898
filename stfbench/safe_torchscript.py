"""The tensors of a TorchScript archive, read without running it: `{dotted.name: tensor}`.

A TorchScript file (`torch.jit.save`) is a zip holding `<archive>/data.pkl` (the module tree as a pickle),
`<archive>/data/<key>` (raw tensor storages) and `<archive>/code/` (the program). `torch.jit.load` and
`pickle.load` would run what the file names, so stfbench does neither: a restricted unpickler allows exactly
the globals a module tree of tensors needs (`torch._utils._rebuild_tensor_v2`, the `torch.*Storage` dtype
markers, `collections.OrderedDict`, `torch.jit._pickle.build_*list`) and turns every `__torch__.*` object
into a plain attribute holder. The program under `code/` is never read. Anything else is refused with
one line naming the file and the global.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from stfbench.errors import WeightsError

#: `torch.<Name>Storage` → torch dtype name.
STORAGE_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
#: Largest data.pkl read (the module tree itself, not the tensors): 16 MiB.
MAX_PICKLE_BYTES = 16 << 20


class _ScriptObject:
    """A `__torch__.*` module or object, reduced to its pickled attributes (BUILD fills `__dict__`)."""

    qualified_name = ""


class _Storage:
    """The dtype marker a storage's persistent id names (`torch.FloatStorage` …)."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype


def _build_list(values: list) -> list:
    return list(values)


class _Unpickler(pickle.Unpickler):
    def __init__(self, handle, archive: zipfile.ZipFile, prefix: str, path: Path) -> None:
        super().__init__(handle)
        self.archive, self.prefix, self.path = archive, prefix, path

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            return type(name, (_ScriptObject,), {"qualified_name": f"{module}.{name}"})
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(STORAGE_DTYPES[name])
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch.jit._pickle" and name in ("build_intlist", "build_doublelist", "build_boollist"):
            return _build_list
        raise WeightsError(
            f"TorchScript archive names {module}.{name}; only tensors are read, so it is refused", self.path
        )

    def persistent_load(self, pid: Any) -> Any:
        import torch

        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)):
            raise WeightsError(f"TorchScript archive has an unexpected persistent id {pid!r:.80}", self.path)
        _, storage, key, _location, numel = pid
        dtype = getattr(torch, storage.dtype)
        try:
            raw = self.archive.read(f"{self.prefix}data/{key}")
        except KeyError:
            raise WeightsError(f"TorchScript archive lacks the storage record data/{key}", self.path) from None
        flat = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        if flat.numel() < int(numel):
            raise WeightsError(f"TorchScript storage data/{key} is truncated", self.path)
        return flat


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *metadata):
    """`torch._utils._rebuild_tensor_v2` for a flat storage tensor: a copy of the strided view."""
    import torch

    if hooks:
        raise pickle.UnpicklingError("a tensor with backward hooks")
    return torch.as_strided(storage, tuple(size), tuple(stride), int(offset)).clone()


def read_torchscript_tensors(path: str | Path) -> dict[str, Any]:
    """Every tensor attribute of the module tree in a TorchScript archive, by dotted name (e.g.
    `Mixed_3b.b0.conv3d.weight`), without running anything; WeightsError with one line otherwise."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pickles) != 1:
                raise WeightsError("not a TorchScript archive (no <archive>/data.pkl)", path)
            prefix = pickles[0][: -len("data.pkl")]
            if f"{prefix}byteorder" in archive.namelist() and archive.read(f"{prefix}byteorder").strip() != b"little":
                raise WeightsError("TorchScript archive written big-endian; not supported", path)
            if archive.getinfo(pickles[0]).file_size > MAX_PICKLE_BYTES:
                raise WeightsError("TorchScript archive's module pickle is implausibly large", path)
            with archive.open(pickles[0]) as handle:
                root = _Unpickler(handle, archive, prefix, path).load()
    except WeightsError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise WeightsError(f"not a readable TorchScript archive ({error})", path) from None
    except (pickle.UnpicklingError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as error:
        raise WeightsError(
            f"TorchScript module pickle not understood ({type(error).__name__}: {error})", path
        ) from None
    if not isinstance(root, _ScriptObject):
        raise WeightsError("TorchScript archive does not hold a module", path)
    return _flatten(root)


def _flatten(node: _ScriptObject, prefix: str = "", above: frozenset[int] = frozenset()) -> dict[str, Any]:
    """Tensors found under `node`'s attributes (submodules recursively), with dotted names; an object that
    contains itself (possible in a crafted pickle) is not followed again."""
    import torch

    found: dict[str, Any] = {}
    path = above | {id(node)}
    for name, value in vars(node).items():
        if isinstance(value, torch.Tensor):
            found[prefix + name] = value
        elif isinstance(value, _ScriptObject) and id(value) not in path:
            found.update(_flatten(value, f"{prefix}{name}.", path))
    return found
