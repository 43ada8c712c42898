"""Corpus generation: plan the clips of a layout, render and write each one, record the corpus spec.

Layouts (mirroring the real datasets so the same readers serve both):

- `lrs2`: `main/<speaker>/<clip>.mp4` (+ `.txt` in LRS2's format, + `.json` ground truth) and
  `train.txt` / `val.txt` / `test.txt` listing `<speaker>/<clip>` (test lines carry `NF` or `MV`).
  `clips` = clips per speaker, each `duration_s` long. Speaker ids are 19 digits like LRS2's programme ids.
  Split per speaker (identities are shared across splits, as in LRS2): the last max(1, round(0.2 n)) clips
  are test (n ≥ 2), the max(1, round(0.1 n)) before them val (n ≥ 3), the rest train. Test flags alternate
  NF/MV across speakers; `MV` clips have 2.5× larger head motion (the BBC lists do not define the flags;
  this is the synthetic stand-in).
- `lrw`: `<WORD>/{train,val,test}/<WORD>_<5 digits>.mp4` (+ `.txt`, `.json`), 29 frames (1.16 s) each
  (`duration_s` is ignored), the word centred between context words cut by the clip edges. `clips` = clips
  per word per split; `words` words drawn by the seed from the lexicon; speakers rotate over the clips so
  every identity appears in every split. `train.txt`/`val.txt`/`test.txt` list `WORD/split/WORD_00001`.

Every clip's randomness comes from SHA-256 of (seed, layout, clip path), so clips are independent of order
and of how work is split across processes: the same spec gives byte-identical files (H.264 with one
encoder thread per clip, see `stfbench.media.write_clip`). Files are written to temporary names and renamed;
`<clip>.json` is written last and marks a finished clip, so an interrupted run resumes where it stopped.
`corpus.json` (the spec, its hash and the SHA-256 of every file) is written last and marks a complete corpus.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from stfbench.errors import StfbenchError
from stfbench.hashing import sha256_file, sha256_json
from stfbench.media import write_clip
from stfbench.paths import cache_dir
from stfbench.synth.articulation import ARTICULATION_PARAMS, articulation_track, frame_times
from stfbench.synth.identity import sample_identity
from stfbench.synth.lexicon import WORDS, sentence, word_in_context
from stfbench.synth.motion import blink_track, head_pose_track
from stfbench.synth.render import prepare_identity, render_frames
from stfbench.synth.speech import synthesize
from stfbench.synth.truth import truth_path

GENERATOR_VERSION = 2  # bump whenever the bytes of a corpus change, so cached corpora regenerate
FPS = 25
SAMPLE_RATE = 16000
LRW_FRAMES = 29
LAYOUTS = ("lrs2", "lrw")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class CorpusSpec:
    """Everything that determines a corpus's bytes."""

    layout: str
    speakers: int
    clips: int
    seed: int
    duration_s: float
    image_size: int
    words: int = 0  # lrw only
    fps: int = FPS
    sample_rate: int = SAMPLE_RATE
    generator_version: int = GENERATOR_VERSION

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise StfbenchError(f"--layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.speakers < 1 or self.clips < 1:
            raise StfbenchError("--speakers and --clips must be at least 1")
        if self.image_size < 96 or self.image_size % 2:
            raise StfbenchError(f"--size must be an even number ≥ 96 (px) for a detectable face, got {self.image_size}")
        if self.layout == "lrs2" and self.duration_s < 1.0:
            raise StfbenchError(f"--duration must be at least 1.0 s, got {self.duration_s}")
        if self.layout == "lrw" and not 1 <= self.words <= len(WORDS):
            raise StfbenchError(f"--words must be between 1 and {len(WORDS)} for the lrw layout, got {self.words}")

    @property
    def num_frames(self) -> int:
        return LRW_FRAMES if self.layout == "lrw" else round(self.duration_s * self.fps)

    @property
    def key(self) -> str:
        """Short hash naming the corpus in the cache."""
        return sha256_json(asdict(self))[:16]


@dataclass(frozen=True)
class ClipJob:
    """One clip to write: its path without suffix (relative to the root), split, speaker, word, flag."""

    stem: str
    split: str
    speaker: int
    word: str | None = None
    flag: str | None = None


@dataclass
class CorpusInfo:
    """What `generate_corpus` produced."""

    root: Path
    spec: CorpusSpec
    clips: int
    generated: int
    reused: int
    splits: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def speaker_id(seed: int, index: int) -> str:
    """A 19-digit LRS2-like programme id for speaker `index` of corpus `seed`."""
    return f"9{seed % 10**9:09d}{index:09d}"


def _lrs2_split_sizes(count: int) -> tuple[int, int]:
    test = max(1, round(0.2 * count)) if count >= 2 else 0
    val = max(1, round(0.1 * count)) if count >= 3 else 0
    return val, test


def lrw_words(spec: CorpusSpec) -> list[str]:
    """The words of an lrw-layout corpus (a seeded draw from the lexicon, sorted)."""
    order = np.random.default_rng(np.random.SeedSequence([spec.seed, 0x1A])).permutation(len(WORDS))
    return sorted(WORDS[i] for i in order[: spec.words])


def plan(spec: CorpusSpec) -> list[ClipJob]:
    """All clips of the corpus in a fixed order."""
    jobs: list[ClipJob] = []
    if spec.layout == "lrs2":
        val, test = _lrs2_split_sizes(spec.clips)
        for speaker in range(spec.speakers):
            for clip in range(spec.clips):
                split = "test" if clip >= spec.clips - test else "val" if clip >= spec.clips - test - val else "train"
                flag = None
                if split == "test":
                    flag = "MV" if (speaker + clip) % 2 else "NF"
                stem = f"main/{speaker_id(spec.seed, speaker)}/{clip + 1:05d}"
                jobs.append(ClipJob(stem, split, speaker, flag=flag))
        return jobs
    counter = 0
    for word in lrw_words(spec):
        for split in SPLITS:
            for clip in range(spec.clips):
                jobs.append(ClipJob(f"{word}/{split}/{word}_{clip + 1:05d}", split, counter % spec.speakers, word))
                counter += 1
    return jobs


def _clip_seed(spec: CorpusSpec, job: ClipJob) -> int:
    digest = hashlib.sha256(f"{spec.seed}/{spec.layout}/{job.stem}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _transcript_file(spec: CorpusSpec, transcript: str, words: list[tuple[str, float, float]]) -> str:
    if spec.layout == "lrw":
        word = transcript
        span = next((end - start for w, start, end in words if w == word), 0.0)
        return f"Text:  {word}\nConf:  3\n\nDuration: {span:.2f} seconds\n"
    rows = "".join(f"{w} {start:.2f} {end:.2f} 3.0\n" for w, start, end in words)
    return f"Text:  {transcript}\nConf:  3\n\nWORD START END ASDSCORE\n{rows}"


def _rounded(values: np.ndarray, decimals: int) -> list:
    return np.round(values.astype(np.float64), decimals).tolist()


def _clip_done(root: Path, job: ClipJob, spec_hash: str) -> bool:
    video, truth = root / f"{job.stem}.mp4", truth_path(root / f"{job.stem}.mp4")
    if not (video.exists() and truth.exists()):
        return False
    try:
        return json.loads(truth.read_text(encoding="utf-8")).get("spec_hash") == spec_hash
    except (OSError, ValueError):
        return False


def generate_clip(root: Path, spec: CorpusSpec, job: ClipJob) -> None:
    """Render, synthesise and write one clip (`.mp4`, `.txt`, then `.json`)."""
    clip_seed = _clip_seed(spec, job)
    rng = np.random.default_rng(clip_seed)
    identity = sample_identity(spec.seed, job.speaker)
    num_frames = spec.num_frames
    duration = num_frames / spec.fps
    num_samples = round(duration * spec.sample_rate)
    if job.word is None:
        phonemes, words = sentence(rng, duration, identity.speech_rate)
        spoken = phonemes
        transcript = " ".join(word for word, _, _ in words)
    else:
        spoken, phonemes, words = word_in_context(rng, job.word, duration, identity.speech_rate)
        transcript = job.word
    audio = synthesize(
        spoken,
        num_samples,
        pitch_hz=identity.pitch_hz,
        formant_scale=identity.formant_scale,
        rng=rng,
        sample_rate=spec.sample_rate,
    )
    times = frame_times(num_frames, spec.fps)
    articulation = articulation_track(spoken, times)  # (T, 4)
    blink = blink_track(times, rng)  # (T,)
    pose = head_pose_track(times, rng, spec.image_size, large=job.flag == "MV")  # (T, 4)
    frames, landmarks = render_frames(identity, articulation, blink, pose, spec.image_size)
    video = root / f"{job.stem}.mp4"
    write_clip(video, frames, audio, spec.fps, spec.sample_rate)
    _write_text(video.with_suffix(".txt"), _transcript_file(spec, transcript, words))
    truth = {
        "speaker": speaker_id(spec.seed, job.speaker) if spec.layout == "lrs2" else f"speaker{job.speaker:03d}",
        "transcript": transcript,
        "words": [[w, round(s, 4), round(e, 4)] for w, s, e in words],
        "fps": spec.fps,
        "sample_rate": spec.sample_rate,
        "num_frames": num_frames,
        "phonemes": [[p, round(s, 4), round(e, 4)] for p, s, e in phonemes],
        "landmarks": _rounded(landmarks, 2),
        "articulation": {name: _rounded(articulation[:, i], 4) for i, name in enumerate(ARTICULATION_PARAMS)},
        "blink": _rounded(blink, 4),
        "head_pose": _rounded(pose, 5),
        "identity": identity.to_json(),
        "split": job.split,
        "flag": job.flag,
        "seed": spec.seed,
        "clip_seed": clip_seed,
        "spec_hash": spec.key,
    }
    _write_text(truth_path(video), json.dumps(truth, separators=(",", ":"), allow_nan=False))


def _generate_clip_task(args: tuple[Path, CorpusSpec, ClipJob]) -> str:
    generate_clip(*args)
    return args[2].stem


def _write_lists(root: Path, spec: CorpusSpec, jobs: list[ClipJob]) -> None:
    for split in SPLITS:
        lines = []
        for job in jobs:
            if job.split != split:
                continue
            name = job.stem.removeprefix("main/")
            lines.append(f"{name} {job.flag}" if job.flag else name)
        _write_text(root / f"{split}.txt", "".join(f"{line}\n" for line in sorted(lines)))


def _run(root: Path, spec: CorpusSpec, todo: list[ClipJob], workers: int, progress: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from stfbench.console import Progress

    columns = (TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("clips", total=len(todo))
        if workers <= 1 or len(todo) <= 1:
            for job in todo:
                generate_clip(root, spec, job)
                bar.advance(task)
            return
        for speaker in sorted({job.speaker for job in todo}):  # warm the per-process caches before forking
            prepare_identity(sample_identity(spec.seed, speaker), spec.image_size)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for _ in pool.map(_generate_clip_task, [(root, spec, job) for job in todo], chunksize=1):
                bar.advance(task)


def generate_corpus(
    out: Path,
    *,
    speakers: int,
    clips: int,
    seed: int,
    layout: str = "lrs2",
    duration_s: float = 3.0,
    image_size: int = 160,
    progress: bool = True,
    words: int = 10,
    workers: int | None = None,
) -> CorpusInfo:
    """Write a synthetic corpus to `out` (see the module docstring for layouts); resumes unfinished work.

    `workers` processes render clips in parallel (default: all CPU cores); output bytes do not depend on it.
    """
    started = time.perf_counter()
    spec = CorpusSpec(layout, speakers, clips, seed, float(duration_s), image_size, words if layout == "lrw" else 0)
    root = Path(out)
    existing = _read_manifest(root)
    if existing is not None and existing.get("spec") != asdict(spec):
        raise StfbenchError("directory already holds a synthetic corpus with a different spec", root / "corpus.json")
    root.mkdir(parents=True, exist_ok=True)
    jobs = plan(spec)
    todo = [job for job in jobs if not _clip_done(root, job, spec.key)]
    if todo:
        _run(root, spec, todo, workers or os.cpu_count() or 1, progress)
    _write_lists(root, spec, jobs)
    _write_manifest(root, spec, jobs)
    splits = {split: sum(job.split == split for job in jobs) for split in SPLITS}
    return CorpusInfo(root, spec, len(jobs), len(todo), len(jobs) - len(todo), splits, time.perf_counter() - started)


def _read_manifest(root: Path) -> dict | None:
    path = root / "corpus.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _write_manifest(root: Path, spec: CorpusSpec, jobs: list[ClipJob]) -> None:
    files = [f"{split}.txt" for split in SPLITS]
    files += [f"{job.stem}{suffix}" for job in jobs for suffix in (".mp4", ".txt", ".json")]
    manifest = {
        "format": "stfbench-synthetic",
        "spec": asdict(spec),
        "spec_hash": spec.key,
        "clips": len(jobs),
        "files": {name: sha256_file(root / name) for name in sorted(files)},
    }
    _write_text(root / "corpus.json", json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False) + "\n")


def ensure_corpus(
    root: Path | None = None,
    *,
    speakers: int,
    clips: int,
    seed: int,
    layout: str = "lrs2",
    duration_s: float = 3.0,
    image_size: int = 160,
    words: int = 10,
) -> Path:
    """A complete corpus with this spec: reused when `corpus.json` matches, else generated (into `root` or
    `<cache>/synthetic/<spec-hash>/`). Concurrent callers wait on a lock file instead of racing."""
    spec = CorpusSpec(layout, speakers, clips, seed, float(duration_s), image_size, words if layout == "lrw" else 0)
    target = Path(root) if root is not None else cache_dir() / "synthetic" / spec.key
    manifest = _read_manifest(target)
    if manifest is not None and manifest.get("spec") == asdict(spec):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.with_name(f".{target.name}.lock")):
        manifest = _read_manifest(target)
        if manifest is None or manifest.get("spec") != asdict(spec):
            generate_corpus(
                target,
                speakers=speakers,
                clips=clips,
                seed=seed,
                layout=layout,
                duration_s=duration_s,
                image_size=image_size,
                words=words,
                progress=sys.stderr.isatty(),
            )
    return target


class _lock:
    """An exclusive advisory lock on a file (POSIX flock; a no-op where fcntl is unavailable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None

    def __enter__(self) -> _lock:
        self._handle = open(self.path, "a+")
        try:
            import fcntl

            fcntl.flock(self._handle, fcntl.LOCK_EX)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()
