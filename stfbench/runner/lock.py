"""Guards for a run (or score) folder: one writer at a time, records that can be trusted, a writable output.

`RunLock` takes an OS file lock (`filelock`, `flock` on POSIX) on `FOLDER/.lock`; the kernel releases it
when the process dies, so a killed run never leaves a stale lock. A second process that tries to write the
same folder is refused with one line. `check_records` refuses record files that hold a clip twice, more
clips than expected, or clips that do not belong to the run. `check_output_dir` fails fast (before weights
or models are loaded) when the output folder cannot be written.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from stfbench.errors import StfbenchError

LOCK_NAME = ".lock"
#: OS errors that mean the disk failed, not the clip (full, over quota, read-only): they stop a batch, never
#: become a clip's status (a resume would then skip that clip instead of redoing it).
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class OutputError(StfbenchError):
    """The output folder cannot be written (disk full, read-only, permission denied, not a folder).

    Per-clip handlers re-raise it: an output failure stops the batch, it is never a clip's status."""

    status = "output-error"

    @classmethod
    def from_os(cls, error: OSError, fallback: str | Path) -> OutputError:
        """One line naming the path (the error's file name, else `fallback`) and the OS reason."""
        reason = error.strerror or type(error).__name__
        return cls(f"cannot write: {reason}", error.filename or fallback)


def raise_if_output_failure(error: BaseException, fallback: str | Path) -> None:
    """Raise `OutputError` when `error` (or its cause) is an OS error of `OUTPUT_ERRNOS`; else return."""
    for candidate in (error, error.__cause__):
        if isinstance(candidate, OutputError):
            raise candidate
        if isinstance(candidate, OSError) and candidate.errno in OUTPUT_ERRNOS:
            raise OutputError.from_os(candidate, fallback) from error


class RunLock:
    """Exclusive, non-blocking lock on a run folder (created if missing); use as a context manager."""

    def __init__(self, folder: str | Path) -> None:
        from filelock import FileLock

        self.folder = Path(folder)
        self._lock = FileLock(str(self.folder / LOCK_NAME), timeout=0, thread_local=False)

    def acquire(self) -> RunLock:
        from filelock import Timeout

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            raise StfbenchError(
                "in use by another stfbench process (its lock is held); wait for it to finish or stop it",
                self.folder,
            ) from None
        except OSError as error:
            raise OutputError.from_os(error, self.folder) from None
        return self

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type | None, value: BaseException | None, trace: TracebackType | None) -> None:
        self.release()


def check_records(
    records: list[dict[str, Any]],
    folder: str | Path,
    n_expected: int | None = None,
    expected_ids: Iterable[str] | None = None,
) -> None:
    """Refuse records that hold a clip twice, more clips than `n_expected`, or a clip not in `expected_ids`."""
    counts = Counter(r["clip_id"] for r in records)
    twice = [clip for clip, count in counts.items() if count > 1]
    if twice:
        raise StfbenchError(
            f"clips.jsonl holds clip {twice[0]} {counts[twice[0]]} times ({len(twice)} duplicated clips): "
            "refusing to use it (results would be double-counted)",
            folder,
        )
    if expected_ids is not None:
        allowed = set(expected_ids)
        foreign = [clip for clip in counts if clip not in allowed]
        if foreign:
            raise StfbenchError(
                f"clips.jsonl holds clip {foreign[0]}, which is not one of this run's clips "
                f"({len(foreign)} such clips): refusing to use it",
                folder,
            )
    if n_expected is not None and len(counts) > n_expected:
        last = records[-1]["clip_id"]
        raise StfbenchError(
            f"clips.jsonl holds {len(counts)} clips, more than the {n_expected} expected (last: {last}): "
            "refusing to use it",
            folder,
        )


def check_output_dir(folder: str | Path) -> None:
    """Fail with one line unless `folder` is (or can be created as) a writable directory."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            raise OutputError("is a broken symbolic link", existing)
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError("is not a folder", existing)
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".stfbench-write-test-"):
            pass
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror or type(error).__name__}", existing) from None
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError("cannot write: permission denied", existing)
