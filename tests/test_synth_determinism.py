"""Same seed and spec → byte-identical corpus, whatever the number of worker processes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from stfbench.media import write_clip
from stfbench.media.video import rgb_to_yuv420p
from stfbench.synth import generate_corpus


def _files(root: Path) -> dict[str, str]:
    return json.loads((root / "corpus.json").read_text())["files"]


def test_same_seed_gives_identical_bytes_across_worker_counts(tmp_path: Path) -> None:
    options = {"speakers": 2, "clips": 2, "seed": 11, "duration_s": 1.0, "progress": False}
    generate_corpus(tmp_path / "a", workers=1, **options)
    generate_corpus(tmp_path / "b", workers=2, **options)
    files_a, files_b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert files_a == files_b
    for name, digest in files_a.items():  # the manifest is not lying
        assert hashlib.sha256((tmp_path / "b" / name).read_bytes()).hexdigest() == digest
    assert (tmp_path / "a" / "corpus.json").read_bytes() == (tmp_path / "b" / "corpus.json").read_bytes()


def test_other_seed_gives_other_clips(tmp_path: Path) -> None:
    options = {"speakers": 1, "clips": 1, "duration_s": 1.0, "progress": False, "workers": 1}
    generate_corpus(tmp_path / "a", seed=1, **options)
    generate_corpus(tmp_path / "b", seed=2, **options)
    videos_a = {k: v for k, v in _files(tmp_path / "a").items() if k.endswith(".mp4")}
    videos_b = {k: v for k, v in _files(tmp_path / "b").items() if k.endswith(".mp4")}
    assert set(videos_a.values()).isdisjoint(videos_b.values())


def test_repeated_encoding_is_byte_identical(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = np.clip(rng.normal(128, 40, (2, 64, 64, 3)).cumsum(0), 0, 255).astype(np.uint8)
    frames = np.repeat(frames, 10, axis=0)  # (20, 64, 64, 3)
    audio = (0.3 * np.sin(np.arange(12800) / 7.0)).astype(np.float32)
    digests = set()
    for index in range(4):
        path = write_clip(tmp_path / f"{index}.mp4", frames, audio, 25, 16000)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


def test_yuv_conversion_matches_bt601_limited_range() -> None:
    colours = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]], np.uint8)
    frames = np.repeat(np.repeat(colours[:, None, None, :], 2, 1), 2, 2)  # (4, 2, 2, 3) flat colours
    planes = rgb_to_yuv420p(frames).reshape(4, -1)  # (4, 6): 4 Y samples, then U, then V
    luma, u, v = planes[:, 0], planes[:, 4], planes[:, 5]
    np.testing.assert_array_equal(luma, [16, 235, 82, 41])
    np.testing.assert_array_equal(u, [128, 128, 90, 240])
    np.testing.assert_array_equal(v, [128, 128, 240, 110])
