"""Loading user-supplied torch files without running code: `torch.load(..., weights_only=True)` only.

A torch file is a pickle; full unpickling can run any code the file names. Every checkpoint stfbench reads
(its own, SyncNet, Inception, LPIPS, S3FD/FAN, Wav2Lip, the colour expert) holds only tensors, numbers,
strings, lists and dicts, which `weights_only=True` reads. A file that needs more is refused with one line;
the single exception is a legacy Wav2Lip checkpoint the user names explicitly (`--allow-pickle FILE`).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

from stfbench.errors import WeightsError

UNSAFE_REASON = (
    "holds Python objects beyond tensors, numbers, strings, lists and dicts; loading it would run code it "
    "names, so stfbench refuses"
)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters)."""
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def load_torch_file(path: str | Path, what: str = "checkpoint", allow_pickle: str | Path | None = None) -> Any:
    """`torch.load(path, weights_only=True)` on the CPU; WeightsError naming the file when it is corrupt or
    needs full unpickling. Full unpickling happens only when `allow_pickle` names this very file."""
    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if allow_pickle is not None and same_file(path, Path(allow_pickle)):
            try:
                return torch.load(path, map_location="cpu", weights_only=False)
            except Exception as unpickle_error:
                raise WeightsError(f"cannot unpickle {what} ({first_line(unpickle_error)})", path) from None
        hint = f" (if you trust this file, pass --allow-pickle {path})" if what == "Wav2Lip checkpoint" else ""
        raise WeightsError(f"{what} {UNSAFE_REASON}{hint} [{first_line(error)}]", path) from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise WeightsError(f"corrupt or truncated {what} ({first_line(error)})", path) from None


def same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` (user-typed, `~` allowed) name the same existing file."""
    try:
        return a.resolve().samefile(b.expanduser().resolve())
    except OSError:
        return False
