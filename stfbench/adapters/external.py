"""Adapters for models that run outside stfbench.

- `outputs --dir DIR`: pre-generated clips of any external model (PC-AVS, MakeItTalk, ATVGnet, ...),
  found as `DIR/<clip id>.mp4` (or `.mkv`, `.avi`); a missing clip is a failure with status
  `missing-output`, counted like any other.
- `command --template "python inference.py --face {video} --audio {audio} --outfile {out}"`: an external
  repository's inference script run once per clip, with a timeout; its stderr tail is the failure reason.
  The template is split into words like a shell line and run without a shell, so `{video}` is one word
  whatever the path holds; inside a shell command (`sh -c '… {video!q} …'`) the `!q` form is shell-quoted.

Either may produce face crops (S×S videos) or whole frames of the source size; whole frames are cropped at
the prepared boxes for the crop metrics and scored as they are by full-frame metrics.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import string
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.io import wavfile

from stfbench.adapters.base import Generated, GenerationRequest, ModelAdapter
from stfbench.adapters.cropping import crop_frames
from stfbench.errors import ModelError, StfbenchError, TooShortError
from stfbench.media import read_clip

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi")
#: The placeholders a command template may use; `{name!q}` is the shell-quoted form (for `sh -c '…'`).
PLACEHOLDERS = ("video", "audio", "out")
#: Frames an external output may lack at the end (upstream scripts stop one or two mel windows early);
#: the last frame is repeated to fill them. Anything shorter is a `too-short` failure.
LENGTH_TOLERANCE = 2


class MissingOutputError(StfbenchError):
    """A pre-generated output the protocol expects is not in the outputs folder."""

    status = "missing-output"


class OutputsAdapter(ModelAdapter):
    """Reads pre-generated clips keyed by clip id from a folder."""

    name = "outputs"

    def __init__(self, dir: str | Path) -> None:
        self.dir = Path(dir)

    @property
    def label(self) -> str:
        return f"outputs ({self.dir.name})"

    def prepare(self, protocol: Any, device: torch.device) -> None:
        if not self.dir.is_dir():
            raise ModelError("outputs folder not found (--dir)", self.dir)

    def generate(self, request: GenerationRequest) -> Generated:
        path = find_output(self.dir, request.item_id)
        if path is None:
            raise MissingOutputError(
                f"no output for clip {request.item_id} (looked for {'/'.join(VIDEO_SUFFIXES)})", self.dir
            )
        return frames_to_generated(path, request)

    def provenance(self) -> dict[str, Any]:
        return {"model": self.name, "dir": str(self.dir.resolve())}


class TemplateFormatter(string.Formatter):
    """`str.format` with one more conversion: `{name!q}` is `shlex.quote` of the value."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return shlex.quote(str(value)) if conversion == "q" else super().convert_field(value, conversion)


def check_template(tokens: list[str]) -> None:
    """Refuse unknown placeholders, conversions and format specs, and a template without `{out}`."""
    allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    used = set()
    for token in tokens:
        try:
            fields = [(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(token) if name is not None]
        except ValueError as error:
            raise ModelError(f"--template: {error} in {token!r} (write {{{{ and }}}} for literal braces)") from None
        for name, conversion, spec in fields:
            if name not in PLACEHOLDERS or conversion not in (None, "q") or spec:
                shown = f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                raise ModelError(
                    f"--template: unknown placeholder {shown}; allowed: {allowed}, or {{name!q}} shell-quoted"
                )
            used.add(name)
    if "out" not in used:
        raise ModelError("--template must contain {out} (where the command writes its video)")


class CommandAdapter(ModelAdapter):
    """Runs an external inference command per clip; `{video}`, `{audio}`, `{out}` are filled in per clip.

    The command runs in a process group of its own: on timeout the whole group (a shell and what it
    started) is killed."""

    name = "command"

    def __init__(self, template: str, timeout: float = 600.0) -> None:
        self.template = template
        self.timeout = float(timeout)
        try:
            tokens = shlex.split(template)
        except ValueError as error:
            raise ModelError(f"--template: {error}") from None
        check_template(tokens)
        self.tokens = tokens

    def prepare(self, protocol: Any, device: torch.device) -> None:
        return None

    def generate(self, request: GenerationRequest) -> Generated:
        with tempfile.TemporaryDirectory(prefix="stfbench-cmd-") as tmp:
            audio_path = Path(tmp) / "audio.wav"
            out_path = Path(tmp) / "out.mp4"
            pcm = (np.clip(request.audio, -1, 1) * 32767).astype(np.int16)
            wavfile.write(audio_path, request.sample_rate, pcm)
            fields = {
                "video": str(request.extras.get("video_path", "")),
                "audio": str(audio_path),
                "out": str(out_path),
            }
            argv = [TemplateFormatter().format(token, **fields) for token in self.tokens]
            returncode, stderr = run_command(argv, self.timeout)
            if returncode != 0:
                raise ModelError(f"command exited with {returncode}: {_tail(stderr)}")
            if not out_path.exists():
                raise ModelError(f"command wrote no {{out}} file: {_tail(stderr)}")
            return frames_to_generated(out_path, request)

    def provenance(self) -> dict[str, Any]:
        return {"model": self.name, "template": self.template, "timeout": self.timeout}


def run_command(argv: list[str], timeout: float) -> tuple[int, str]:
    """Run `argv` in a new session (its own process group) → (exit status, stderr). On timeout, or when
    interrupted, the whole group is killed, so that nothing the command started in the background survives."""
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            errors="replace", start_new_session=True,
        )  # fmt: skip
    except OSError as error:
        raise ModelError(f"cannot run {argv[0]}: {error.strerror or error}") from None
    with process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ModelError(f"command timed out after {timeout:g} s: {argv[0]}") from None
        except BaseException:
            _kill_group(process)
            raise
    return process.returncode, stderr


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def find_output(folder: Path, item_id: str) -> Path | None:
    """`folder/<item_id><suffix>` for the first existing video suffix, else None."""
    for suffix in VIDEO_SUFFIXES:
        candidate = folder / f"{item_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def frames_to_generated(path: Path, request: GenerationRequest) -> Generated:
    """Decode an external output and bring it to the request's T frames in crop space (and frame space)."""
    clip = read_clip(path, fps=request.fps, sample_rate=request.sample_rate, require_audio=False)
    frames = fit_frames(clip.frames, request.num_frames, path)
    size = request.target_crops.shape[1]
    if frames.shape[1:3] == (size, size):
        return Generated(crops=frames)
    frame_size = request.extras.get("frame_size")
    boxes = request.extras.get("boxes")
    if boxes is None or frame_size is None or tuple(frames.shape[1:3]) != tuple(frame_size):
        raise ModelError(
            f"output frames are {frames.shape[2]}x{frames.shape[1]}: neither the {size}x{size} crop nor the source "
            f"frame size {frame_size}",
            path,
        )
    return Generated(crops=crop_frames(frames, boxes[: len(frames)], size), frames=frames)


def fit_frames(frames: np.ndarray, num_frames: int, path: Path) -> np.ndarray:
    """Trim to `num_frames`; repeat the last frame when at most LENGTH_TOLERANCE frames are missing."""
    missing = num_frames - len(frames)
    if missing > LENGTH_TOLERANCE:
        raise TooShortError(f"output has {len(frames)} frames, the driving audio needs {num_frames}", path)
    if missing > 0:
        frames = np.concatenate([frames, np.repeat(frames[-1:], missing, axis=0)])
    return frames[:num_frames]


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-400:] or "(no stderr)"
