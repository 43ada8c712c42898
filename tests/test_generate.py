"""Inference: the length rule, batching, and the train → generate → memory command line end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from stfbench.audio import mel_windows
from stfbench.cli import app
from stfbench.media import read_clip
from stfbench.reference_model.config import model_preset
from stfbench.reference_model.data import from_unit_range, to_unit_range
from stfbench.reference_model.generator import SyncTalkFace
from stfbench.reference_model.inference import fit_length, frames_for_audio, generate_crops


def test_audio_decides_length_and_video_loops_or_trims():
    assert frames_for_audio(16000, 16000, 25.0) == 25
    assert frames_for_audio(16639, 16000, 25.0) == 25  # floor
    assert frames_for_audio(16640, 16000, 25.0) == 26
    frames = np.arange(4)[:, None]
    assert fit_length(frames, 6)[:, 0].tolist() == [0, 1, 2, 3, 0, 1]
    assert fit_length(frames, 3)[:, 0].tolist() == [0, 1, 2]


def test_generate_crops_is_batch_independent_and_uses_aligned_mel_windows():
    torch.manual_seed(0)
    model = SyncTalkFace(model_preset("micro")).eval()
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (7, 64, 64, 3), np.uint8)
    mel = rng.uniform(-4, 4, (80, 40)).astype(np.float32)
    one = generate_crops(model, crops, crops[::-1].copy(), mel, batch_size=7)
    split = generate_crops(model, crops, crops[::-1].copy(), mel, batch_size=3)
    assert one.shape == (7, 64, 64, 3) and one.dtype == np.uint8
    np.testing.assert_array_equal(one, split)
    # frame t uses the mel window starting one frame (3.2 mel steps) before it (released training alignment)
    windows = torch.from_numpy(mel_windows(mel, 7, 25.0, -1))[:, None]
    direct = model(windows, to_unit_range(crops), to_unit_range(crops[::-1].copy())).key_frames
    np.testing.assert_array_equal(one, from_unit_range(direct))


@pytest.mark.slow
def test_train_generate_memory_command_line(synthetic_corpus, tmp_path):
    runner = CliRunner()
    common = ["--dataset", "synthetic", "--root", str(synthetic_corpus), "--preset", "micro"]
    refused = runner.invoke(app, ["train", *common, "--out", str(tmp_path / "r0"), "--steps", "1"])
    assert refused.exit_code != 0 and "train-expert --kind color-syncnet" in str(refused.exception)
    result = runner.invoke(
        app,
        ["train", *common, "--out", str(tmp_path / "run"), "--steps", "2", "--batch-size", "2", "--av-weight", "0",
         "--export", str(tmp_path / "stf.pt"), "--plot"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / "losses.png").exists()
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 2 and any("val_l1" in r for r in log)

    video = next(iter(sorted((synthetic_corpus / "main").rglob("*.mp4"))))
    out = tmp_path / "dubbed.mp4"
    result = runner.invoke(
        app, ["generate", "--checkpoint", str(tmp_path / "stf.pt"), "--video", str(video), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    source, dubbed = read_clip(video), read_clip(out)
    assert dubbed.frames.shape == source.frames.shape
    assert abs(len(dubbed.audio) - len(source.audio)) < 16000 / 25

    result = runner.invoke(app, ["memory", "--checkpoint", str(tmp_path / "stf.pt"), "--root", str(synthetic_corpus),
                                 "--out", str(tmp_path / "mem")])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "mem" / "memory_report.json").read_text())
    assert report["slots"] == 8 and 0 <= report["entropy_nats"] <= report["max_entropy_nats"] + 1e-6
    assert {p.name for p in (tmp_path / "mem").glob("*.png")} == {
        "slot_usage.png",
        "phoneme_slots.png",
        "slot_mouths.png",
    }


def test_generate_and_memory_default_to_the_committed_checkpoint(synthetic_corpus, tmp_path):
    """Without --checkpoint both commands use the protocol's committed checkpoint, as `run` does."""
    runner = CliRunner()
    video = next(iter(sorted((synthetic_corpus / "main").rglob("*.mp4"))))
    out = tmp_path / "dubbed.mp4"
    result = runner.invoke(app, ["generate", "--video", str(video), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_clip(out).frames.shape == read_clip(video).frames.shape
    result = runner.invoke(
        app, ["memory", "--root", str(synthetic_corpus), "--limit-clips", "1", "--out", str(tmp_path / "mem")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "mem" / "memory_report.json").read_text())
    assert report["slots"] == 96  # synctalkface_tiny_synthetic (the slots-0 one would have nothing to analyse)
    refused = runner.invoke(app, ["generate", "--protocol", "lrs2", "--video", str(video), "--out", str(out)])
    assert refused.exit_code != 0 and "no default checkpoint for dataset 'lrs2'" in str(refused.exception)
