"""`datasets check`: is a dataset root complete and readable enough for a protocol to run?"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

from stfbench.console import Progress
from stfbench.datasets import layout
from stfbench.errors import ProtocolError, StfbenchError
from stfbench.media import probe_video, read_clip

if TYPE_CHECKING:
    from stfbench.protocols.spec import Protocol


@dataclass
class ClipProblem:
    clip_id: str
    path: Path
    reason: str


@dataclass
class DatasetCheck:
    """Expected vs found clips of a protocol under a root, and what is wrong with the rest.

    expected: clips the protocol reads (pinned count, or the list's length when the list could be read);
    found: clips whose file exists. `list_error` is set when the clip list itself is missing or does not
    match the protocol's pins. ok: the protocol can run on every clip.
    """

    protocol_id: str
    root: Path | None
    expected: int
    found: int = 0
    missing: list[str] = field(default_factory=list)
    unreadable: list[ClipProblem] = field(default_factory=list)
    wrong_rate: list[ClipProblem] = field(default_factory=list)
    no_audio: list[ClipProblem] = field(default_factory=list)
    list_error: str | None = None
    clip_list_sha256: str | None = None

    @property
    def ok(self) -> bool:
        problems = self.missing or self.unreadable or self.wrong_rate or self.no_audio
        return self.list_error is None and not problems and self.found == self.expected


def check_dataset(
    protocol: Protocol,
    root: Path | str | None = None,
    *,
    list_file: Path | str | None = None,
    decode: bool = False,
    progress: bool = False,
) -> DatasetCheck:
    """Check every clip the protocol reads: present, readable header (or full decode with `decode`), the
    protocol's fps and sample rate, an audio track. A root that is not given or not a folder is a ProtocolError."""
    from stfbench.protocols.resolve import resolve_clip_list

    if protocol.dataset != "synthetic" or root is not None:  # the synthetic corpus is generated when no root is given
        layout.require_root(protocol.dataset, root)  # a missing root is one error, not a table of zeros
    expected = protocol.clip_list.count or 0
    try:
        resolved = resolve_clip_list(protocol, root, list_file=list_file)
        list_error = None
    except ProtocolError as error:
        list_error = str(error)
        try:
            resolved = resolve_clip_list(protocol, root, list_file=list_file, verify=False)
        except ProtocolError:
            return DatasetCheck(
                protocol.id, layout.dataset_root_or_none(protocol.dataset, root), expected, list_error=list_error
            )
    clip_ids = resolved.clip_ids
    report = DatasetCheck(
        protocol.id,
        resolved.root,
        max(expected, len(clip_ids)),
        list_error=list_error,
        clip_list_sha256=resolved.sha256,
    )
    if protocol.clip_list.source != "layout":
        report.expected = len(clip_ids)
    columns = (TextColumn("check {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(escape(protocol.id), total=len(clip_ids))
        for clip_id in clip_ids:
            bar.advance(task)
            path = layout.clip_path(resolved.layout, resolved.root, clip_id, protocol.split)
            if not path.is_file():
                report.missing.append(clip_id)
                continue
            report.found += 1
            _check_clip(report, protocol, clip_id, path, decode)
    return report


def _check_clip(report: DatasetCheck, protocol: Protocol, clip_id: str, path: Path, decode: bool) -> None:
    try:
        info = probe_video(path)
        if decode:
            read_clip(path, fps=info.fps, sample_rate=info.audio_rate or protocol.sample_rate, require_audio=False)
    except StfbenchError as error:
        report.unreadable.append(ClipProblem(clip_id, path, str(error)))
        return
    if abs(info.fps - protocol.fps) > 1e-3:
        report.wrong_rate.append(ClipProblem(clip_id, path, f"{info.fps:g} fps (protocol: {protocol.fps:g})"))
    if not info.has_audio:
        report.no_audio.append(ClipProblem(clip_id, path, "no audio track"))
    elif info.audio_rate != protocol.sample_rate:
        report.wrong_rate.append(
            ClipProblem(clip_id, path, f"audio {info.audio_rate} Hz (protocol: {protocol.sample_rate} Hz)")
        )
