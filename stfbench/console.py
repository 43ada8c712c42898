"""Terminal and log output: consoles that never wrap when not writing to a terminal, and progress bars that
become periodic plain lines (done/total, rate, ETA) in logs.

Every command prints through `make_console` and shows progress through `Progress`, so output piped to a file
keeps URLs, ids, hashes and table cells whole, and a log still shows how far long work has come.
"""

from __future__ import annotations

import time
from typing import Any

import rich.progress
from rich.console import Console
from rich.errors import MarkupError
from rich.text import Text

#: Seconds between two plain progress lines of one task in a log.
LOG_EVERY_S = 10.0
#: Console width when not writing to a terminal: wide enough that nothing wraps.
LOG_WIDTH = 100_000
#: False while `set_progress(False)` holds: every `Progress` is then silent.
_progress_enabled = True


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that never highlights, and when not a terminal never wraps."""
    console = Console(stderr=stderr, highlight=False)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, highlight=False, width=LOG_WIDTH, soft_wrap=True)


def plain(description: str) -> str:
    """A task description without its (escaped) markup."""
    try:
        return Text.from_markup(description).plain
    except MarkupError:
        return description


def progress_line(description: str, completed: float, total: float | None, elapsed_s: float) -> str:
    """`scoring: 12/40 (30 %), 1.50/s, ETA 19 s` (rate and ETA once something is done)."""
    done = f"{int(completed)}/{int(total)} ({100 * completed / total:.0f} %)" if total else f"{int(completed)}"
    line = f"{plain(description)}: {done}"
    if completed > 0 and elapsed_s > 0:
        rate = completed / elapsed_s
        line += f", {rate:.2f}/s"
        if total:
            line += f", ETA {_duration((total - completed) / rate)}"
    return line


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def set_progress(enabled: bool) -> bool:
    """Show (True) or silence (False) every `Progress` made from now on in this process; returns the previous
    setting. `--no-progress` silences them while its command runs, bars made deep in library code included."""
    global _progress_enabled
    previous, _progress_enabled = _progress_enabled, enabled
    return previous


class Progress(rich.progress.Progress):
    """rich's progress bar on a terminal; elsewhere (a log, CI) one plain line per task every `log_every` seconds
    and when the task completes. `disable=True` (or `set_progress(False)`) silences both."""

    def __init__(self, *columns: Any, disable: bool = False, log_every: float = LOG_EVERY_S, **kwargs: Any) -> None:
        disable = disable or not _progress_enabled
        self.silenced = disable  # neither a bar nor plain lines
        console = kwargs.pop("console", None) or make_console(stderr=True)
        self._plain = not disable and not console.is_terminal
        self._log_every = log_every
        self._logged: dict[rich.progress.TaskID, float] = {}
        self._finished: set[rich.progress.TaskID] = set()
        super().__init__(*columns, console=console, disable=disable or self._plain, **kwargs)

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> rich.progress.TaskID:
        task_id = super().add_task(description, *args, **kwargs)
        self._logged[task_id] = time.monotonic()
        return task_id

    def update(self, task_id: rich.progress.TaskID, *args: Any, **kwargs: Any) -> None:
        super().update(task_id, *args, **kwargs)
        self._log(task_id)

    def advance(self, task_id: rich.progress.TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def stop(self) -> None:
        for task_id in list(self._logged):
            self._log(task_id, final=True)
        super().stop()

    def _log(self, task_id: rich.progress.TaskID, final: bool = False) -> None:
        if not self._plain or task_id in self._finished:
            return
        task = self._tasks[task_id]
        now = time.monotonic()
        finished = task.total is not None and task.completed >= task.total
        if not (finished or final or now - self._logged[task_id] >= self._log_every):
            return
        self._logged[task_id] = now
        if finished or final:
            self._finished.add(task_id)
        elapsed = task.elapsed or 0.0
        self.console.print(Text(progress_line(task.description, task.completed, task.total, elapsed)))
