"""Adapter contract: registry resolution and options, controls, a user's toy adapter through the runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.runner_fakes import FakeClips, fake_metrics_factory, fake_protocol

from stfbench.adapters.base import GenerationRequest, ModelAdapter
from stfbench.adapters.controls import (
    GroundTruthAdapter,
    MismatchedAudioAdapter,
    ShiftedAudioAdapter,
    StaticAdapter,
    fit_length,
    shift_audio,
)
from stfbench.adapters.registry import load_adapter, resolve_adapter_class
from stfbench.errors import StfbenchError
from stfbench.runner.config import RunConfig
from stfbench.runner.run import run_benchmark
from stfbench.runner.store import RunStore


class MouthOnlyAdapter(ModelAdapter):
    """A user's adapter: copies the reference and pastes the target's lower half (selected by module:Class)."""

    name = "mouth-only"

    def __init__(self, checkpoint: str | None = None) -> None:
        self.checkpoint = checkpoint
        self.prepared_with: tuple | None = None

    def prepare(self, protocol, device: torch.device) -> None:
        self.prepared_with = (protocol.id, device.type)

    def generate(self, request: GenerationRequest) -> np.ndarray:
        out = request.reference_crops.copy()
        half = out.shape[1] // 2
        out[:, half:] = request.target_crops[:, half:]
        return out


def _request(frames: int = 6, size: int = 8, seed: int = 0, item_id: str = "a") -> GenerationRequest:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    audio = rng.standard_normal(frames * 640).astype(np.float32)
    return GenerationRequest(item_id, target, np.repeat(target[2:3], frames, 0), audio, np.zeros((80, 20), np.float32))


def test_registry_resolves_builtins_and_module_class_specs() -> None:
    assert resolve_adapter_class("static") is StaticAdapter
    assert resolve_adapter_class("test_adapters:MouthOnlyAdapter") is MouthOnlyAdapter
    adapter = load_adapter("shifted-audio", shift=2, checkpoint=None)
    assert isinstance(adapter, ShiftedAudioAdapter) and adapter.shift == 2 and adapter.label == "shifted-audio (k=2)"
    with pytest.raises(StfbenchError, match="unknown model"):
        resolve_adapter_class("no-such-model")
    with pytest.raises(StfbenchError, match="not a ModelAdapter"):
        resolve_adapter_class("numpy:ndarray")
    with pytest.raises(StfbenchError, match="does not take option"):
        load_adapter("static", shift=3)
    with pytest.raises(StfbenchError, match="--dir"):
        load_adapter("outputs")


def test_static_and_ground_truth_controls() -> None:
    request = _request()
    static = StaticAdapter().generate(request)
    assert static.shape == request.target_crops.shape
    assert (static == request.reference_crops[:1]).all()
    assert np.array_equal(GroundTruthAdapter().generate(request), request.target_crops)
    assert GroundTruthAdapter.uses_ground_truth_video and not StaticAdapter.uses_ground_truth_video


def test_shift_audio_moves_events_by_whole_frames() -> None:
    audio = np.zeros(20 * 640, np.float32)
    audio[10 * 640] = 1.0
    early = shift_audio(audio, 3, 25.0, 16000)
    late = shift_audio(audio, -3, 25.0, 16000)
    assert len(early) == len(late) == len(audio)
    assert np.flatnonzero(early).tolist() == [7 * 640]
    assert np.flatnonzero(late).tolist() == [13 * 640]
    assert np.array_equal(fit_length(np.arange(3.0), 7), [0, 1, 2, 0, 1, 2, 0])


def test_mismatched_audio_is_a_seeded_derangement() -> None:
    ids = [f"clip{i}" for i in range(7)]
    audio = {i: np.full(640 * (k + 3), k, np.float32) for k, i in enumerate(ids)}
    adapter = MismatchedAudioAdapter(seed=1)
    donors = []
    for item_id in ids:
        request = _request(item_id=item_id)
        request.audio = audio[item_id][: 6 * 640]
        request.extras["protocol_item_ids"] = ids
        driving = adapter.driving_audio(request, audio.__getitem__)
        assert len(driving) == len(request.audio)
        donors.append(int(driving[0]))
    assert all(donor != k for k, donor in enumerate(donors))  # nobody keeps their own audio
    assert sorted(donors) == list(range(7))  # a permutation
    again = MismatchedAudioAdapter(seed=1)
    request = _request(item_id="clip0")
    request.extras["protocol_item_ids"] = ids
    assert int(again.driving_audio(request, audio.__getitem__)[0]) == donors[0]


def test_user_adapter_runs_through_the_runner(tmp_path: Path) -> None:
    adapter = load_adapter("test_adapters:MouthOnlyAdapter", checkpoint="x.pt")
    config = RunConfig(model="test_adapters:MouthOnlyAdapter", dataset="fake", out_dir=tmp_path, show_progress=False)
    run_benchmark(
        config, adapter=adapter, metrics_factory=fake_metrics_factory, protocol=fake_protocol(), clips=FakeClips()
    )
    assert adapter.prepared_with == ("fake-test", "cpu")
    summary = RunStore(tmp_path).read_summary()
    assert summary["n_scored"] == 6 and summary["model"]["label"] == "mouth-only"
    assert 0.3 < summary["metrics"]["ssim"]["mean"] < 1.0


def test_controls_through_the_runner(tmp_path: Path) -> None:
    """Ground truth scores PSNR ∞ / SSIM 1; static scores worse; shifted audio keeps the video intact."""
    means = {}
    for name, options in (("ground-truth", {}), ("static", {}), ("shifted-audio", {"shift": 3})):
        config = RunConfig(model=name, dataset="fake", out_dir=tmp_path / name, show_progress=False)
        adapter = load_adapter(name, **options)
        run_benchmark(
            config, adapter=adapter, metrics_factory=fake_metrics_factory, protocol=fake_protocol(), clips=FakeClips()
        )
        means[name] = {k: v["mean"] for k, v in RunStore(tmp_path / name).read_summary()["metrics"].items()}
    assert means["ground-truth"]["psnr"] == float("inf") and means["ground-truth"]["ssim"] == pytest.approx(1.0)
    assert means["static"]["ssim"] < 0.5
    assert means["shifted-audio"]["ssim"] == pytest.approx(1.0)


def test_excluding_the_reference_frame_keeps_static_psnr_finite(tmp_path: Path) -> None:
    """The static control copies the reference frame, so that one frame equals its target (PSNR ∞); a
    protocol with `exclude_from_paired_metrics` scores the other frames only and gets a finite PSNR."""
    psnr, per_clip = {}, {}
    for exclude in (False, True):
        out = tmp_path / str(exclude)
        config = RunConfig(model="static", dataset="fake", out_dir=out, show_progress=False)
        protocol = fake_protocol(names=("psnr",), reference="seeded-frame", exclude_reference=exclude)
        run_benchmark(config, adapter=load_adapter("static"), metrics_factory=fake_metrics_factory,
                      protocol=protocol, clips=FakeClips())  # fmt: skip
        psnr[exclude] = RunStore(out).read_summary()["metrics"]["psnr"]["mean"]
        per_clip[exclude] = [record["metrics"]["psnr"] for record in RunStore(out).read_records()]
    assert psnr[False] == float("inf")
    assert np.isfinite(psnr[True]) and 0 < psnr[True] < 60
    assert all(np.isfinite(v) for v in per_clip[True]) and all(v == float("inf") for v in per_clip[False])
