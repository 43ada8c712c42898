"""Find clips to score and pair them with ground truth and audio (for `stfbench score`).

A source is one video file, an image folder (frames `0001.png`, … directly inside it), a folder searched
recursively for videos (mp4/avi/mkv/mov/webm) and image folders, or a text file list (one path per line,
relative to the list's folder; `#` comments). Each clip's key is its path relative to the source without
the suffix.

Pairing rules (`mode`):
- `clips` (default): when `--pred` and `--gt` are each one clip (a video file or an image folder), they are
  one pair whatever their names. Otherwise clips pair by key, else by unique file name (id).
- `images`: every image file under `--pred` is a one-frame clip, paired with the ground-truth image of the
  same relative path without suffix, else of the same unique file name (for image-by-image scoring).
Broken symbolic links and symlink loops inside a folder are kept as clips (their decode error is recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stfbench.errors import StfbenchError
from stfbench.media.video import IMAGE_SUFFIXES, missing_reason

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".aac"}
LIST_SUFFIXES = {".txt", ".lst", ".list"}
PAIRING_MODES = ("clips", "images")


@dataclass(frozen=True)
class ClipPair:
    """One clip to score: the generated clip, its ground truth and audio (None = none / own track)."""

    key: str
    pred: Path | None
    gt: Path | None
    audio: Path | None


def _is_image_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def is_single_clip(path: str | Path) -> bool:
    """A video file or an image folder (not a list, not a folder of clips)."""
    path = Path(path)
    return (path.is_file() and path.suffix.lower() not in LIST_SUFFIXES) or _is_image_folder(path)


def _dangling(path: Path) -> bool:
    """A symbolic link whose target is missing or loops (`exists()` is False for it)."""
    return path.is_symlink() and not path.exists()


def discover(source: str | Path, suffixes: set[str] = VIDEO_SUFFIXES) -> dict[str, Path]:
    """Key → path of every clip in `source` (see module docstring)."""
    source = Path(source)
    if not source.exists():
        raise StfbenchError(missing_reason(source, "not found"), source)
    if source.is_file() and source.suffix.lower() in LIST_SUFFIXES:
        try:
            text = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise StfbenchError(f"not a UTF-8 text list of clips (byte {error.start})", source) from None
        found = {}
        for number, line in enumerate(text.splitlines(), 1):
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
        if (path.is_file() or _dangling(path)) and path.suffix.lower() in suffixes:
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


def discover_images(source: str | Path) -> dict[str, Path]:
    """Key (relative path without suffix) → path of every image file under `source` (`images` mode)."""
    source = Path(source)
    if not source.exists():
        raise StfbenchError(missing_reason(source, "not found"), source)
    if source.is_file():
        return {source.stem: source}
    found = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part.startswith(".") for part in relative.parts) or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.is_file() or _dangling(path):
            found[str(relative.with_suffix(""))] = path
    return found


def pair_clips(
    pred: str | Path, gt: str | Path | None = None, audio: str | Path | None = None, mode: str = "clips"
) -> list[ClipPair]:
    """Pair generated clips with ground truth and audio by the rule `mode` (see the module docstring).
    Ground-truth clips without a generated clip are returned with `pred=None` (counted as missing outputs)."""
    if mode not in PAIRING_MODES:
        raise StfbenchError(f"--pairing {mode}: choose {', '.join(PAIRING_MODES)}")
    find = discover_images if mode == "images" else discover
    preds = find(pred)
    if not preds:
        kinds = "image files" if mode == "images" else "mp4/avi/mkv/mov/webm files, image folders or a .txt list"
        raise StfbenchError(f"no clips found ({kinds})", pred)
    gts = find(gt) if gt is not None else {}
    single = mode == "clips" and gt is not None and is_single_clip(pred) and is_single_clip(gt)
    audio_path = Path(audio) if audio is not None else None
    audios = (
        discover(audio_path, AUDIO_SUFFIXES | VIDEO_SUFFIXES) if audio_path is not None and audio_path.is_dir() else {}
    )
    gt_ids, audio_ids = _by_id(gts), _by_id(audios)
    pairs, used = [], set()
    for key, path in preds.items():
        gt_path = Path(gt) if single else _match(key, gts, gt_ids) if gts else None
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
    if gt is not None and not single:
        pairs += [ClipPair(key, None, path, None) for key, path in gts.items() if path not in used]
    return pairs


def describe_pairing(pairs: list[ClipPair], pred: str | Path, gt: str | Path | None, mode: str = "clips") -> str:
    """One line naming the rule used and the counts, e.g. `paired 12 clips by name (3 pred-only, 1 gt-only)`."""
    if gt is None:
        return f"found {len(pairs)} clips under {pred} (no --gt: nothing to pair)"
    paired = sum(p.pred is not None and p.gt is not None for p in pairs)
    pred_only = sum(p.gt is None for p in pairs)
    gt_only = sum(p.pred is None for p in pairs)
    plural = "" if paired == 1 else "s"
    if mode == "images":
        rule = f"image{plural} by relative path or file name"
    elif is_single_clip(pred) and is_single_clip(gt):
        rule = "clip: --pred and --gt are one clip each"
    else:
        rule = f"clip{plural} by relative path or name"
    return f"paired {paired} {rule} ({pred_only} pred-only, {gt_only} gt-only)"
