"""Synthetic corpus layouts, ground truth files, manifest, caching and resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stfbench.errors import StfbenchError
from stfbench.hashing import sha256_file
from stfbench.media import read_clip
from stfbench.synth import PHONEMES, ensure_corpus, generate_corpus, load_ground_truth


def test_lrs2_layout_lists_and_transcripts(synthetic_corpus: Path) -> None:
    lists = {split: (synthetic_corpus / f"{split}.txt").read_text().splitlines() for split in ("train", "val", "test")}
    assert [len(lines) for lines in lists.values()] == [2, 2, 2]
    assert {line.split()[1] for line in lists["test"]} == {"NF", "MV"}
    for split, lines in lists.items():
        for line in lines:
            speaker, clip = line.split()[0].split("/")
            assert len(speaker) == 19 and speaker.isdigit() and len(clip) == 5
            video = synthetic_corpus / "main" / speaker / f"{clip}.mp4"
            truth = load_ground_truth(video)
            assert truth.split == split
            text = video.with_suffix(".txt").read_text().splitlines()
            assert text[0] == f"Text:  {truth.transcript}"
            assert text[3] == "WORD START END ASDSCORE"
            assert [row.split()[0] for row in text[4:]] == truth.transcript.split()


def test_clip_media_matches_ground_truth(synthetic_corpus: Path) -> None:
    video = next(iter(sorted(synthetic_corpus.glob("main/*/*.mp4"))))
    clip = read_clip(video)
    truth = load_ground_truth(video)
    assert clip.frames.shape == (truth.num_frames, 160, 160, 3) and truth.num_frames == 50
    assert clip.fps == 25 and clip.sample_rate == 16000
    assert abs(len(clip.audio) - 2.0 * 16000) <= 1024
    assert truth.landmarks.shape == (50, 68, 2) and truth.articulation.shape == (50, 4)
    assert truth.phonemes[0][1] == 0.0 and abs(truth.phonemes[-1][2] - 2.0) < 1e-6
    assert all(a[2] == pytest.approx(b[1]) for a, b in zip(truth.phonemes, truth.phonemes[1:], strict=False))
    assert all(symbol in PHONEMES for symbol, _, _ in truth.phonemes)
    assert len(truth.frame_phonemes()) == 50
    assert np.all((truth.landmarks > 0) & (truth.landmarks < 160))


def test_manifest_hashes_every_file(synthetic_corpus: Path) -> None:
    manifest = json.loads((synthetic_corpus / "corpus.json").read_text())
    assert manifest["spec"]["layout"] == "lrs2" and manifest["clips"] == 6
    assert len(manifest["files"]) == 6 * 3 + 3
    for name, digest in manifest["files"].items():
        assert sha256_file(synthetic_corpus / name) == digest, name


def test_lrw_layout(synthetic_lrw_corpus: Path) -> None:
    videos = sorted(synthetic_lrw_corpus.glob("*/*/*.mp4"))
    assert len(videos) == 2 * 3
    for video in videos:
        word, split = video.parts[-3], video.parts[-2]
        assert split in {"train", "val", "test"} and video.stem == f"{word}_00001"
        truth = load_ground_truth(video)
        assert truth.num_frames == 29 and truth.transcript == word
        assert video.with_suffix(".txt").read_text().startswith(f"Text:  {word}\n")
        spans = {w: (s, e) for w, s, e in truth.words}
        start, end = spans[word]
        assert start < 0.58 < end  # the word is centred in the 1.16 s clip
    assert (synthetic_lrw_corpus / "test.txt").read_text().splitlines()[0].count("/") == 2


def test_ensure_corpus_caches_and_reuses(tmp_path: Path) -> None:
    root = ensure_corpus(speakers=1, clips=1, seed=3, duration_s=1.0)
    assert root.parent.name == "synthetic" and (root / "corpus.json").exists()
    stamp = (root / "corpus.json").stat().st_mtime_ns
    assert ensure_corpus(speakers=1, clips=1, seed=3, duration_s=1.0) == root
    assert (root / "corpus.json").stat().st_mtime_ns == stamp
    with pytest.raises(StfbenchError, match="different spec"):
        generate_corpus(root, speakers=1, clips=1, seed=4, duration_s=1.0, progress=False)


def test_resume_regenerates_only_missing_clips(tmp_path: Path) -> None:
    root = tmp_path / "c"
    generate_corpus(root, speakers=1, clips=2, seed=5, duration_s=1.0, progress=False, workers=1)
    before = json.loads((root / "corpus.json").read_text())["files"]
    (root / "corpus.json").unlink()
    victim = sorted(root.glob("main/*/*.json"))[0]
    victim.unlink()
    info = generate_corpus(root, speakers=1, clips=2, seed=5, duration_s=1.0, progress=False, workers=1)
    assert (info.generated, info.reused) == (1, 1)
    assert json.loads((root / "corpus.json").read_text())["files"] == before


@pytest.mark.parametrize(
    "options",
    [{"layout": "vox"}, {"image_size": 97}, {"speakers": 0}, {"layout": "lrw", "words": 10_000}, {"duration_s": 0.5}],
)
def test_bad_options_are_user_errors(tmp_path: Path, options: dict) -> None:
    kwargs = {"speakers": 1, "clips": 1, "seed": 0, "progress": False, **options}
    with pytest.raises(StfbenchError):
        generate_corpus(tmp_path / "x", **kwargs)


def test_cli_writes_a_corpus_and_reports_bad_options(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stfbench.cli import app

    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--speakers", "1", "--clips", "1", "--duration", "1", "--workers", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 clips (1 train, 0 val, 0 test)" in result.output and "1 generated" in result.output
    assert load_ground_truth(next(out.glob("main/*/00001.mp4"))).num_frames == 25
    bad = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "bad"), "--layout", "vox"])
    assert bad.exit_code != 0 and isinstance(bad.exception, StfbenchError)
