"""The committed synthetic SyncNet: LSE finds audio shifts and separates a clip's own audio from another's.

Clips come from a synthetic corpus with a seed the network never saw in training (seed 5: unseen speaker
identity and sentences)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stfbench.media import read_clip
from stfbench.metrics import ScoringSample, build_metrics
from stfbench.synth import generate_corpus
from stfbench.weights import entry, verify


@pytest.fixture(scope="module")
def unseen_clips(tmp_path_factory: pytest.TempPathFactory) -> list:
    root = tmp_path_factory.mktemp("unseen") / "corpus"
    generate_corpus(root, speakers=1, clips=2, seed=5, layout="lrs2", duration_s=3.0, progress=False, workers=1)
    return [read_clip(p) for p in sorted(Path(root, "main").glob("*/*.mp4"))]


@pytest.fixture(scope="module")
def lse():
    assert verify("syncnet_synthetic") == "ok"
    (metric,) = build_metrics("lse", {"lse": {"weights": "syncnet_synthetic"}}, "cpu")
    return metric


def _shift_audio(audio: np.ndarray, frames: int) -> np.ndarray:
    """Audio leading the video by `frames` (negative: lagging), zero-filled, same length."""
    samples = frames * 640
    if samples >= 0:
        return np.concatenate([audio[samples:], np.zeros(samples, np.float32)])
    return np.concatenate([np.zeros(-samples, np.float32), audio[:samples]])


def _score(lse, clip, audio):
    return lse.score(ScoringSample("clip", clip.frames, audio=audio, pred_frames=clip.frames))


def test_entry_is_committed_with_provenance():
    item = entry("syncnet_synthetic")
    assert item.committed and item.seed is not None and "train-expert --kind syncnet" in item.command
    assert item.size is not None and item.size <= 8 * 1024 * 1024


def test_lse_label_names_the_synthetic_weights(lse):
    assert lse.name == "lse[fullframe224,syncnet_synthetic]"


@pytest.mark.parametrize("shift", [-4, 3])
def test_audio_shift_is_found_and_scores_stay_close(lse, unseen_clips, shift):
    clip = unseen_clips[0]
    synced = _score(lse, clip, clip.audio)
    shifted = _score(lse, clip, _shift_audio(clip.audio, shift))
    assert abs(synced.av_offset) <= 1
    assert shifted.av_offset == synced.av_offset + shift
    assert shifted.lse_d == pytest.approx(synced.lse_d, rel=0.25)
    assert shifted.lse_c == pytest.approx(synced.lse_c, rel=0.35)


def test_other_clips_audio_scores_clearly_worse(lse, unseen_clips):
    clip, other = unseen_clips
    own = _score(lse, clip, clip.audio)
    length = min(len(clip.audio), len(other.audio))
    foreign = _score(lse, clip, other.audio[:length])
    assert foreign.lse_d > own.lse_d * 1.1
    assert foreign.lse_c < own.lse_c * 0.7
