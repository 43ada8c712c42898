"""Batches never lose, double-count or silently mis-score: folder locks, duplicate records, per-clip crash
statuses, exit status 3, pairing rules, strict JSON, media limits, atomic videos, progress under kills,
output-folder errors."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from fixtures.runner_fakes import FakeClips, NoisyAdapter, fake_metrics_factory, fake_run, run_records
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.errors import DecodeError, StfbenchError
from stfbench.media import read_audio, read_clip, write_clip
from stfbench.runner.engine import ramp_groups
from stfbench.runner.store import RunStore

TESTS = Path(__file__).resolve().parent
STFBENCH = Path(sys.executable).with_name("stfbench")


_run = fake_run
_records = run_records


def _frames(seed: int, count: int = 4, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def _png_folder(folder: Path, frames: np.ndarray, prefix: str = "") -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{prefix}{i:04d}.png")
    return folder


def _score(*args: str):
    """`stfbench score` in this process (one worker thread, so the tests' monkeypatches apply to it)."""
    return CliRunner().invoke(app, ["score", "--workers", "1", *args])


def _strict_loads(text: str):
    def refuse(constant: str):
        raise AssertionError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


# 1 ---------------------------------------------------------------- one writer per folder


def test_a_second_process_is_refused_while_another_holds_the_folder(tmp_path: Path) -> None:
    run_dir = _run(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from stfbench.runner.lock import RunLock;"
         " held = RunLock(sys.argv[1]).acquire(); print('locked', flush=True); sys.stdin.read()", str(run_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = (run_dir / "clips.jsonl").read_bytes()
        with pytest.raises(StfbenchError, match=r"run: in use by another stfbench process"):
            _run(run_dir, resume=True)
        clip = _png_folder(tmp_path / "clip", _frames(1))
        cli = subprocess.run(
            [str(STFBENCH), "score", "--pred", str(clip), "--gt", str(clip), "--metrics", "psnr",
             "--out", str(run_dir)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert cli.returncode == 2, cli.stderr
        assert cli.stderr.count("\n") == 1 and str(run_dir) in cli.stderr and "in use" in cli.stderr
        assert (run_dir / "clips.jsonl").read_bytes() == before
    finally:
        holder.kill()  # the OS releases the lock of a killed process
        holder.wait()
    summary = RunStore(_run(run_dir, resume=True)).read_summary()
    assert summary["n_recorded"] == summary["n_expected"] == 6


# 2 ---------------------------------------------------------------- duplicated / foreign records


def test_resume_leaderboard_and_merge_refuse_duplicated_or_extra_records(tmp_path: Path) -> None:
    from stfbench.leaderboard.table import load_summary
    from stfbench.runner.merge import merge_shards

    run_dir = _run(tmp_path / "run")
    lines = (run_dir / "clips.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "clips.jsonl").write_text("".join(lines + lines[1:2]))
    twice = json.loads(lines[1])["clip_id"]
    for action in (lambda: _run(run_dir, resume=True), lambda: load_summary(run_dir)):
        with pytest.raises(StfbenchError, match=rf"run: clips.jsonl holds clip {twice} 2 times"):
            action()
    foreign = {**json.loads(lines[0]), "clip_id": "spk9/clip99"}
    (run_dir / "clips.jsonl").write_text("".join(lines) + json.dumps(foreign) + "\n")
    with pytest.raises(StfbenchError, match=r"holds clip spk9/clip99, which is not one of this run's clips"):
        _run(run_dir, resume=True)
    with pytest.raises(StfbenchError, match=r"holds 7 clips, more than the 6 expected"):
        load_summary(run_dir)

    sharded = tmp_path / "sharded"
    for index in range(2):
        _run(sharded, shard=(index, 2))
    shard = sharded / "shard-001-of-002" / "clips.jsonl"
    first = shard.read_text().splitlines(keepends=True)[0]
    shard.write_text(shard.read_text() + first)
    with pytest.raises(
        StfbenchError, match=rf"shard-001-of-002: clips.jsonl holds clip {json.loads(first)['clip_id']}"
    ):
        merge_shards(sharded, metrics_factory=fake_metrics_factory)


# 3 ---------------------------------------------------------------- a crash on one clip is its status


def test_any_decode_or_metric_crash_is_that_clips_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    from stfbench.metrics.psnr import PSNR
    from stfbench.runner import score as score_module

    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for name in ("a", "b", "c", "d"):
        frames = _frames(ord(name))
        _png_folder(pred / name, frames)
        _png_folder(gt / name, frames // 2)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # every 16x16 frame is a "decompression bomb" now
    result = _score("--pred", str(pred), "--gt", str(gt), "--metrics", "psnr", "--out", str(tmp_path / "bomb"))
    assert result.exit_code == 3, result.output  # nothing scored, but every clip recorded
    records = RunStore(tmp_path / "bomb").read_records()
    assert [r["status"] for r in records] == ["too-large"] * 4 and "image too large" in records[0]["reason"]
    monkeypatch.undo()

    load, update = score_module.load_pair, PSNR.update

    def crash_on_b(pair, *options):
        if pair.key == "b":
            raise RuntimeError("decoder bug")
        return load(pair, *options)

    def crash_on_c(self, sample):
        if sample.clip_id == "c":
            raise ZeroDivisionError("metric bug")
        return update(self, sample)

    monkeypatch.setattr(score_module, "load_pair", crash_on_b)
    monkeypatch.setattr(PSNR, "update", crash_on_c)
    result = _score("--pred", str(pred), "--gt", str(gt), "--metrics", "psnr", "--out", str(tmp_path / "crash"))
    assert result.exit_code == 0, result.output
    by_id = {r["clip_id"]: r for r in RunStore(tmp_path / "crash").read_records()}
    assert by_id["b"]["status"] == "decode-error" and "RuntimeError: decoder bug" in by_id["b"]["reason"]
    assert by_id["c"]["status"] == "metric-error" and "ZeroDivisionError" in by_id["c"]["reason"]
    assert by_id["a"]["status"] == by_id["d"]["status"] == "ok"

    def interrupted(pair, *options):
        raise KeyboardInterrupt

    from stfbench.metrics import build_metrics
    from stfbench.metrics.pairing import pair_clips

    monkeypatch.setattr(score_module, "load_pair", interrupted)
    run = score_module.ScoreRun(tmp_path / "stop", build_metrics(["psnr"], {}, "cpu"), pair_clips(pred, gt), ["psnr"])
    with pytest.raises(KeyboardInterrupt):
        run.run()
    assert RunStore(tmp_path / "stop").read_records() == []

    def disk_full_on_c(pair, *options):  # e.g. a decoder's temporary file: the disk, not the clip, failed
        if pair.key == "c":
            raise OSError(errno.ENOSPC, "No space left on device")
        return load(pair, *options)

    monkeypatch.setattr(score_module, "load_pair", disk_full_on_c)
    result = _score("--pred", str(pred), "--gt", str(gt), "--metrics", "psnr", "--out", str(tmp_path / "full"))
    assert isinstance(result.exception, StfbenchError) and "cannot write: No space left on device" in str(
        result.exception
    )
    assert [r["clip_id"] for r in RunStore(tmp_path / "full").read_records()] == ["a", "b"]  # kept, c not failed


class _Broken(FakeClips):
    """Loading clip 01 crashes like a decoder bug; clip 03 like a full cache disk while `disk_full`."""

    disk_full = True

    def load(self, clip_id: str):
        if clip_id == "spk1/clip01":
            raise ValueError("cannot reshape array")
        if clip_id == "spk1/clip03" and self.disk_full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().load(clip_id)


def test_run_records_decode_and_metric_crashes_per_clip_and_stops_on_a_full_disk(tmp_path, monkeypatch) -> None:
    from stfbench.metrics.ssim import SSIM

    update = SSIM.update

    def crash_on_02(self, sample):
        if sample.clip_id == "spk0/clip02":
            raise FloatingPointError("overflow")
        return update(self, sample)

    monkeypatch.setattr(SSIM, "update", crash_on_02)
    clips = _Broken()
    with pytest.raises(StfbenchError, match=r"run: cannot write: No space left on device"):
        _run(tmp_path / "run", clips=clips)
    assert [r["clip_id"] for r in _records(tmp_path / "run")] == ["spk0/clip00", "spk1/clip01", "spk0/clip02"]
    clips.disk_full = False
    by_id = {r["clip_id"]: r for r in _records(_run(tmp_path / "run", clips=clips, resume=True))}
    assert (
        by_id["spk1/clip01"]["status"] == "decode-error"
        and "ValueError: cannot reshape" in by_id["spk1/clip01"]["reason"]
    )
    assert by_id["spk0/clip02"]["status"] == "metric-error" and "FloatingPointError" in by_id["spk0/clip02"]["reason"]
    assert by_id["spk1/clip03"]["status"] == "ok" and len(by_id) == 6


# 4, 5 ---------------------------------------------------------------- pairing rules and exit status 3


def test_pairing_rules_are_printed_and_unpaired_or_failed_batches_exit_3(tmp_path: Path) -> None:
    frames = _frames(5)
    a, b = _png_folder(tmp_path / "a", frames), _png_folder(tmp_path / "b", frames, prefix="gt_")
    result = _score("--pred", str(a), "--gt", str(b), "--metrics", "psnr", "--out", str(tmp_path / "one"))
    assert result.exit_code == 0, result.output
    assert "paired 1 clip: --pred and --gt are one clip each (0 pred-only, 0 gt-only)" in result.output
    assert RunStore(tmp_path / "one").read_summary()["n_scored"] == 1

    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for name in ("x", "y", "p"):
        _png_folder(pred / name, frames)
    for name in ("x", "y", "g"):
        _png_folder(gt / name, frames if name != "y" else frames[:2])
    args = ["--pred", str(pred), "--gt", str(gt), "--metrics", "psnr"]
    result = _score(*args, "--out", str(tmp_path / "folders"))
    assert "paired 2 clips by relative path or name (1 pred-only, 1 gt-only)" in result.output
    assert result.exit_code == 0, result.output  # x scored; y (length mismatch), p, g failed
    by_id = {r["clip_id"]: r for r in RunStore(tmp_path / "folders").read_records()}
    assert "4 frames, ground truth has 2 (pass --trim or --pairing images" in by_id["y"]["reason"]
    assert _score(*args, "--out", str(tmp_path / "strict"), "--strict").exit_code == 3

    other = tmp_path / "other"
    for name in ("q", "r"):
        _png_folder(other / name, frames)
    result = _score("--pred", str(pred), "--gt", str(other), "--metrics", "psnr", "--out", str(tmp_path / "none"))
    assert result.exit_code == 3 and "pairing failed for every clip" in result.output

    images_pred, images_gt = tmp_path / "ip", tmp_path / "ig"
    _png_folder(images_pred, frames)
    _png_folder(images_gt, frames[:3])
    result = _score("--pred", str(images_pred), "--gt", str(images_gt), "--metrics", "psnr", "--pairing", "images",
                    "--out", str(tmp_path / "images"))  # fmt: skip
    assert "paired 3 images by relative path or file name (1 pred-only, 0 gt-only)" in result.output
    records = {r["clip_id"]: r for r in RunStore(tmp_path / "images").read_records()}
    assert records["0000"]["frames"] == 1 and records["0003"]["status"] == "mismatch"


def test_run_exits_3_when_no_clip_scored_or_strict_and_any_failed(tmp_path: Path, monkeypatch) -> None:
    from stfbench.runner import run as runner

    def fake_run(config, adapter=None):
        ids = ("spk0/clip00",) if config.label == "some" else tuple(FakeClips().ids)
        return _run(config.out_dir, clips=FakeClips(no_face=ids))

    monkeypatch.setattr(runner, "run_benchmark", fake_run)
    base = ["run", "--model", "ground-truth", "--dataset", "synthetic", "--no-progress"]
    assert CliRunner().invoke(app, [*base, "--out", str(tmp_path / "all")]).exit_code == 3
    some = [*base, "--label", "some"]
    assert CliRunner().invoke(app, [*some, "--out", str(tmp_path / "some")]).exit_code == 0
    assert CliRunner().invoke(app, [*some, "--out", str(tmp_path / "strict"), "--strict"]).exit_code == 3


# 6 ---------------------------------------------------------------- strict JSON, infinite PSNR shown as ∞


class _Copy(NoisyAdapter):
    """Returns the target crops exactly: PSNR is infinite."""

    name = "copy"

    def generate(self, request):
        return request.target_crops.copy()


def test_json_files_are_strict_and_infinite_psnr_is_inf_in_files_and_tables(tmp_path: Path) -> None:
    from stfbench.leaderboard.render import render
    from stfbench.leaderboard.table import build_leaderboard
    from stfbench.runner.store import dumps

    run_dir = _run(tmp_path / "copy", adapter=_Copy())
    for name in ("manifest.json", "summary.json"):
        _strict_loads((run_dir / name).read_text())
    raw = [_strict_loads(line) for line in (run_dir / "clips.jsonl").read_text().splitlines()]
    assert {r["metrics"]["psnr"] for r in raw} == {"inf"}
    assert _strict_loads((run_dir / "summary.json").read_text())["metrics"]["psnr"]["mean"] == "inf"
    assert RunStore(run_dir).read_summary()["metrics"]["psnr"]["mean"] == float("inf")
    assert _strict_loads(dumps({"a": float("nan"), "b": [np.float32("-inf"), 1.5]})) == {"a": None, "b": ["-inf", 1.5]}
    from types import SimpleNamespace

    from stfbench.reference_model.training import Trainer

    trainer = SimpleNamespace(is_main=True, log_path=tmp_path / "train_log.jsonl")  # a diverged training step
    Trainer.log(trainer, {"step": 3, "loss": float("nan"), "grad_norm": np.float64("inf")})
    assert _strict_loads(trainer.log_path.read_text()) == {"step": 3, "loss": None, "grad_norm": "inf"}
    board = build_leaderboard([run_dir])
    assert "| ∞ |" in render(board, "markdown") and r"$\infty$" in render(board, "latex", standalone=False)
    _strict_loads(render(board, "json"))


# 7 ---------------------------------------------------------------- media limits and symlinks


def _late_audio(path: Path, start_seconds: float, rate: int = 16000) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate)
        stream.layout = "mono"
        for k in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = (
                rate,
                int(start_seconds * rate) + k * 1024,
                Fraction(1, rate),
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _video_with_audio(path: Path, video_start: float, audio_start: float, rate: int = 16000) -> Path:
    """4 frames of 16x16 (lossless) from `video_start` s and 3 × 1024 non-zero samples from `audio_start` s."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=25)
        video.width = video.height = 16
        video.pix_fmt = "bgr0"
        audio = container.add_stream("flac", rate=rate)
        audio.layout = "mono"
        for k in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 9 * k, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(video_start * 25) + k, Fraction(1, 25)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for k in range(3):
            frame = av.AudioFrame.from_ndarray(np.full((1, 1024), 1000, np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.time_base = rate, Fraction(1, rate)
            frame.pts = round(audio_start * rate) + k * 1024
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


def test_late_audio_symlinks_and_decoded_size_are_bounded_per_clip(tmp_path: Path, monkeypatch) -> None:
    import resource

    from stfbench.media import video

    assert len(read_audio(_late_audio(tmp_path / "late1.mkv", 1.0))) >= 16000  # a small offset is kept
    with pytest.raises(DecodeError, match=r"late\.mkv: audio starts 100000 s into the file"):
        read_audio(_late_audio(tmp_path / "late.mkv", 1e5))
    with pytest.raises(DecodeError, match=r"av\.mkv: audio starts 100000 s after the video starts"):
        read_clip(_video_with_audio(tmp_path / "av.mkv", 0.0, 1e5))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 4e6  # KiB: no 6 GB of padding
    for start, lag in ((0.0, 0.0), (0.0, 1.0), (1e5, 0.0), (1e5, 1.0)):  # audio aligned to the video's start
        clip = read_clip(_video_with_audio(tmp_path / f"v{start:g}-{lag:g}.mkv", start, start + lag))
        assert len(clip.frames) == 4 and len(clip.audio) == round(lag * 16000) + 3072
        assert np.flatnonzero(clip.audio)[0] == round(lag * 16000)

    probe = video.probe_video  # a header that understates the frame count: every frame is still decoded
    monkeypatch.setattr(video, "probe_video", lambda path: dataclasses.replace(probe(path), num_frames=2))
    frames = read_clip(tmp_path / "v0-0.mkv", require_audio=False).frames
    assert frames.shape == (4, 16, 16, 3) and [f[0, 0, 0] for f in frames] == [0, 9, 18, 27]
    monkeypatch.setenv("STFBENCH_MAX_DECODED_PIXELS", str(3 * 16 * 16))
    with pytest.raises(StfbenchError, match=r"decodes to at least 4 frames of 16x16"):
        read_clip(tmp_path / "v0-0.mkv", require_audio=False)
    monkeypatch.undo()

    pred = tmp_path / "pred"
    write_clip(pred / "good.mkv", _frames(1, 4, 16), None)
    (pred / "loop.mkv").symlink_to(pred / "loop.mkv")
    (pred / "gone.mkv").symlink_to(tmp_path / "missing.mkv")
    (tmp_path / "link").symlink_to(pred, target_is_directory=True)
    result = _score("--pred", str(tmp_path / "link"), "--gt", str(pred), "--metrics", "psnr",
                    "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    by_id = {r["clip_id"]: r for r in RunStore(tmp_path / "out").read_records()}
    assert by_id["good"]["status"] == "ok"
    assert by_id["loop"]["status"] == "decode-error" and "symbolic link loop" in by_id["loop"]["reason"]
    assert "broken symbolic link" in by_id["gone"]["reason"]
    (tmp_path / "self").symlink_to(tmp_path / "self")
    result = _score(
        "--pred", str(tmp_path / "self"), "--metrics", "psnr", "--gt", str(pred), "--out", str(tmp_path / "o")
    )
    assert isinstance(result.exception, StfbenchError) and "self: symbolic link loop" in str(result.exception)

    monkeypatch.setenv("STFBENCH_MAX_DECODED_PIXELS", "1000")
    with pytest.raises(StfbenchError, match=r"good\.mkv: declares 4 frames of 16x16 = 1.02e\+03 pixels, over"):
        read_clip(pred / "good.mkv", require_audio=False)
    with pytest.raises(StfbenchError, match="decoded-size limit") as caught:
        read_clip(_png_folder(tmp_path / "frames", _frames(2)), require_audio=False)
    assert caught.value.status == "too-large"


# 8, 10 ---------------------------------------------------------------- atomic videos, output errors, settings


def test_disk_full_while_keeping_videos_leaves_no_partial_and_resume_checks_settings(tmp_path, monkeypatch) -> None:
    from stfbench.media import video

    encode, calls = video._encode_audio, {"n": 0}

    def full_on_third(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        encode(*args)

    monkeypatch.setattr(video, "_encode_audio", full_on_third)
    with pytest.raises(StfbenchError, match=r"videos/spk0/clip02\.mp4: cannot write: .*No space left on device"):
        _run(tmp_path / "run", keep_videos=True)
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "run" / "videos").rglob("*") if p.is_file()) == [
        "clip00.mp4",
        "clip01.mp4",
    ]
    assert len(RunStore(tmp_path / "run").read_records()) == 2
    with pytest.raises(StfbenchError, match=r"cannot resume: keep_videos differs .* \(True vs False\)"):
        _run(tmp_path / "run", resume=True)
    with pytest.raises(StfbenchError, match=r"cannot resume: clip_ids_sha256 differs"):  # e.g. another --list-file
        _run(tmp_path / "run", resume=True, keep_videos=True, clips=FakeClips(count=7))
    killed = tmp_path / "run" / "videos" / "spk0" / ".clip02.4242.partial.mp4"  # left by a killed process
    killed.write_bytes(b"\0" * 100)
    resumed = _run(tmp_path / "run", resume=True, keep_videos=True, label="renamed")
    assert _records(resumed) == _records(_run(tmp_path / "reference", keep_videos=True))
    assert not killed.exists()
    (change,) = RunStore(resumed).read_manifest()["resume_changes"]  # what the first part ran with is kept
    assert change["setting"] == "model" and (change["before"]["label"], change["after"]["label"]) == (
        "noisy",
        "renamed",
    )

    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(StfbenchError, match=r"file: is not a folder"):
            _run(out)
    if os.geteuid() != 0:  # root writes anywhere
        (tmp_path / "ro").mkdir(mode=0o555)
        with pytest.raises(StfbenchError, match=r"ro: cannot write: Permission denied"):
            _run(tmp_path / "ro" / "run")
    frames = _png_folder(tmp_path / "clip", _frames(3))
    result = _score("--pred", str(frames), "--gt", str(frames), "--metrics", "psnr", "--out", str(tmp_path / "file"))
    assert isinstance(result.exception, StfbenchError) and "is not a folder" in str(result.exception)
    args = ["--pred", str(frames), "--gt", str(frames), "--out", str(tmp_path / "s")]
    assert _score(*args, "--metrics", "psnr").exit_code == 0
    result = _score(*args, "--metrics", "psnr", "--trim", "--resume")
    assert "cannot resume: trim differs" in str(result.exception)
    assert _score(*args, "--metrics", "psnr", "--resume", "--device", "cpu").exit_code == 0
    starts = RunStore(tmp_path / "s").read_summary()["provenance"]["starts"]  # each part's device is kept
    assert [start["device"] for start in starts] == ["cpu", "cpu"] and starts[0]["time"] <= starts[1]["time"]
    assert json.loads((tmp_path / "s" / "settings.json").read_text())["starts"] == starts


# 9 ---------------------------------------------------------------- progress under frequent kills


class _Killed(BaseException):
    """Stands in for the process being killed (propagates like SIGKILL's effect: nothing after it runs)."""


class _DiesEvery(NoisyAdapter):
    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every

    def generate(self, request):
        if self.calls and self.calls % self.every == 0:
            self.calls += 1
            raise _Killed
        return super().generate(request)


def test_grouped_runs_progress_under_frequent_kills_with_unchanged_records(tmp_path: Path, monkeypatch) -> None:
    from stfbench.metrics.psnr import PSNR

    monkeypatch.setattr(PSNR, "precomputes", classmethod(lambda cls: True))  # groups of up to 8 clips
    clips = FakeClips(count=12)
    assert [len(g) for g in ramp_groups(list(range(12)), 8)] == [1, 2, 4, 5]
    restarts = 0
    while True:
        try:
            run_dir = _run(tmp_path / "killed", adapter=_DiesEvery(2), clips=clips, resume=True)
            break
        except _Killed:
            restarts += 1
            assert restarts <= 12, "no progress"
    assert 1 < restarts <= 12
    assert _records(run_dir) == _records(_run(tmp_path / "reference", clips=clips))
