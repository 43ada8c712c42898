"""Find clips to score and pair them with ground truth and audio (for `stfbench score`).

A source is one video file, an image folder (frames `0001.png`, …), a folder searched recursively for
videos (mp4/avi/mkv/mov/webm) and image folders, or a text file list (one path per line, relative to the
list's folder; `#` comments). Each clip's key is its path relative to the source without the suffix;
generated and ground-truth clips pair by key, else by unique file name (id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stfbench.errors import StfbenchError
from stfbench.media.video import IMAGE_SUFFIXES

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".aac"}
LIST_SUFFIXES = {".txt", ".lst", ".list"}


@dataclass(frozen=True)
class ClipPair:
    """One clip to score: the generated clip, its ground truth and audio (None = none / own track)."""

    key: str
    pred: Path | None
    gt: Path | None
    audio: Path | None


def _is_image_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def discover(source: str | Path, suffixes: set[str] = VIDEO_SUFFIXES) -> dict[str, Path]:
    """Key → path of every clip in `source` (see module docstring)."""
    source = Path(source)
    if not source.exists():
        raise StfbenchError("not found", source)
    if source.is_file() and source.suffix.lower() in LIST_SUFFIXES:
        found = {}
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            path = Path(line) if Path(line).is_absolute() else source.parent / line
            key = str(Path(line).with_suffix("")) if Path(line).suffix.lower() in suffixes else line.rstrip("/")
            if key in found:
                raise StfbenchError(f"line {number}: {line} is listed twice", source)
            found[key] = path
        return found
    if source.is_file():
        return {source.stem: source}
    if _is_image_folder(source):
        return {source.name: source}
    found = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in suffixes:
            found[str(relative.with_suffix(""))] = path
        elif _is_image_folder(path):
            found[str(relative)] = path
    return found


def _by_id(paths: dict[str, Path]) -> dict[str, Path | None]:
    """Last key component → path (None where the id is ambiguous)."""
    index: dict[str, Path | None] = {}
    for key, path in paths.items():
        name = Path(key).name
        index[name] = None if name in index else path
    return index


def _match(key: str, paths: dict[str, Path], ids: dict[str, Path | None]) -> Path | None:
    return paths.get(key) or ids.get(Path(key).name)


def pair_clips(pred: str | Path, gt: str | Path | None = None, audio: str | Path | None = None) -> list[ClipPair]:
    """Pair generated clips with ground truth (by key, else by id) and audio. Ground-truth clips without
    a generated clip are returned with `pred=None` (counted as missing outputs)."""
    preds = discover(pred)
    if not preds:
        raise StfbenchError("no clips found (mp4/avi/mkv/mov/webm files, image folders or a .txt list)", pred)
    gts = discover(gt) if gt is not None else {}
    single = Path(pred).is_file() and Path(pred).suffix.lower() not in LIST_SUFFIXES
    audio_path = Path(audio) if audio is not None else None
    audios = (
        discover(audio_path, AUDIO_SUFFIXES | VIDEO_SUFFIXES) if audio_path is not None and audio_path.is_dir() else {}
    )
    gt_ids, audio_ids = _by_id(gts), _by_id(audios)
    pairs, used = [], set()
    for key, path in preds.items():
        if gt is not None and single and Path(gt).is_file():
            gt_path = Path(gt)
        else:
            gt_path = _match(key, gts, gt_ids) if gts else None
        if gt_path is not None:
            used.add(gt_path)
        if audio_path is None:
            clip_audio = None
        elif audio_path.is_dir():
            clip_audio = _match(key, audios, audio_ids)
            if clip_audio is None:
                clip_audio = audio_path / f"{key}.wav"  # reported as missing when scored
        else:
            clip_audio = audio_path
        pairs.append(ClipPair(key, path, gt_path, clip_audio))
    if gt is not None and not (single and Path(gt).is_file()):
        pairs += [ClipPair(key, None, path, None) for key, path in gts.items() if path not in used]
    return pairs
