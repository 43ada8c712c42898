"""Runner: records and summary, determinism, resume after a kill, shards + merge, fail-fast, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_fakes import FakeClips, NoisyAdapter, fake_metrics_factory, fake_protocol, fake_run, run_records

from stfbench.errors import StfbenchError, WeightsError
from stfbench.runner.config import RunConfig, parse_shard
from stfbench.runner.merge import merge_shards
from stfbench.runner.run import run_benchmark
from stfbench.runner.store import RunStore

TESTS = Path(__file__).resolve().parent


_run = fake_run
_records = run_records


def test_failures_are_recorded_counted_and_excluded(tmp_path: Path) -> None:
    clips = FakeClips(no_face=("spk0/clip04",))
    run_dir = _run(tmp_path / "run", clips, NoisyAdapter(crash_on="spk1/clip03"))
    records = _records(run_dir)
    assert [r["status"] for r in records] == ["ok", "ok", "ok", "model-error", "no-face", "ok"]
    assert "CUDA out of memory" in records[3]["reason"]
    assert "no face" in records[4]["reason"]
    summary = RunStore(run_dir).read_summary()
    assert (summary["n_scored"], summary["n_expected"]) == (4, 6)
    assert summary["failures"] == {"model-error": 1, "no-face": 1}
    psnr = [r["metrics"]["psnr"] for r in records if r["status"] == "ok"]
    assert summary["metrics"]["psnr"]["clip_mean"] == pytest.approx(np.mean(psnr), abs=1e-12)
    frames = [r["frames"] for r in records if r["status"] == "ok"]
    assert summary["metrics"]["psnr"]["mean"] == pytest.approx(np.average(psnr, weights=frames), abs=1e-9)
    low, high = summary["metrics"]["psnr"]["ci95"]
    assert low <= summary["metrics"]["psnr"]["clip_mean"] <= high
    assert np.isfinite(summary["metrics"]["fid"]["mean"])
    manifest = RunStore(run_dir).read_manifest()
    assert manifest["status"] == "complete" and manifest["protocol"]["hash"] == fake_protocol().hash


def test_same_seed_same_numbers_and_seed_matters(tmp_path: Path) -> None:
    first = _records(_run(tmp_path / "a"))
    assert first == _records(_run(tmp_path / "b"))
    assert first != _records(_run(tmp_path / "c", seed=1))


def _check_resumed_equals_reference(killed: Path, tmp_path: Path) -> None:
    _run(killed, resume=True)
    reference = _run(tmp_path / "reference")
    assert _records(killed) == _records(reference)
    resumed, expected = RunStore(killed).read_summary(), RunStore(reference).read_summary()
    assert resumed["metrics"] == expected["metrics"]
    assert resumed["n_scored"] == 6 and len(RunStore(killed).read_records()) == 6
    assert RunStore(killed).read_manifest()["resumed_at"]


def test_resume_after_killing_the_process_equals_uninterrupted_run(tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    command = [sys.executable, "-m", "fixtures.runner_fakes", str(killed), "--die-in-generate", "4"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 17, done.stderr  # os._exit inside the 4th generate: no cleanup at all
    assert not (killed / "summary.json").exists()
    assert len(RunStore(killed).read_records()) == 3
    _check_resumed_equals_reference(killed, tmp_path)


def test_resume_after_crash_between_state_and_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    killed = tmp_path / "killed"
    original = RunStore.append_record
    calls = {"n": 0}

    def crash_on_third(self, record):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # state.json already includes the 3rd clip; its record is lost
        original(self, record)

    monkeypatch.setattr(RunStore, "append_record", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        _run(killed)
    monkeypatch.setattr(RunStore, "append_record", original)
    assert len(RunStore(killed).read_records()) == 2
    assert len(RunStore(killed).load_state()["included_ids"]) == 3
    _check_resumed_equals_reference(killed, tmp_path)


def test_shards_and_merge_equal_a_single_run(tmp_path: Path) -> None:
    single = _run(tmp_path / "single", FakeClips(count=7, no_face=("spk1/clip05",)))
    sharded = tmp_path / "sharded"
    for index in range(3):
        _run(sharded, FakeClips(count=7, no_face=("spk1/clip05",)), shard=(index, 3))
    assert sorted(p.name for p in sharded.iterdir()) == [f"shard-00{i}-of-003" for i in range(3)]
    merged = merge_shards(sharded, metrics_factory=fake_metrics_factory)
    assert _records(merged) == _records(single)
    got, want = RunStore(merged).read_summary(), RunStore(single).read_summary()
    assert (got["n_scored"], got["n_expected"], got["failures"]) == (
        want["n_scored"],
        want["n_expected"],
        want["failures"],
    )
    for key in ("psnr", "ssim"):  # clip values and CIs exactly; dataset values up to summation order
        assert {k: v for k, v in got["metrics"][key].items() if k != "mean"} == {
            k: v for k, v in want["metrics"][key].items() if k != "mean"
        }
        assert got["metrics"][key]["mean"] == pytest.approx(want["metrics"][key]["mean"], rel=1e-12)
    # FID from pooled statistics: equal up to float summation order, and not a mean of per-shard FIDs.
    assert got["metrics"]["fid"]["mean"] == pytest.approx(want["metrics"]["fid"]["mean"], rel=1e-9)
    per_shard = [RunStore(sharded / f"shard-00{i}-of-003").read_summary()["metrics"]["fid"]["mean"] for i in range(3)]
    assert abs(np.mean(per_shard) - want["metrics"]["fid"]["mean"]) > 1e-6 * want["metrics"]["fid"]["mean"]


def test_merge_refuses_incomplete_shards(tmp_path: Path) -> None:
    _run(tmp_path / "run", shard=(0, 2))
    with pytest.raises(StfbenchError, match="missing"):
        merge_shards(tmp_path / "run", metrics_factory=fake_metrics_factory)


def test_existing_run_needs_resume_and_matching_settings(tmp_path: Path) -> None:
    _run(tmp_path / "run")
    with pytest.raises(StfbenchError, match="--resume"):
        _run(tmp_path / "run")
    with pytest.raises(StfbenchError, match="seed differs"):
        _run(tmp_path / "run", resume=True, seed=5)
    calls = NoisyAdapter()
    _run(tmp_path / "run", adapter=calls, resume=True)
    assert calls.calls == 0  # everything was already done


def test_missing_metric_weights_fail_before_any_work(tmp_path: Path) -> None:
    from stfbench.runner.run import default_metrics_factory

    adapter = NoisyAdapter()
    config = RunConfig(model="noisy", dataset="fake", out_dir=tmp_path / "run", metrics=["lse"], show_progress=False)
    os.environ["STFBENCH_WEIGHT_SYNCNET_V2"] = str(tmp_path / "nowhere.model")
    try:
        with pytest.raises(WeightsError, match="syncnet_v2"):
            run_benchmark(
                config,
                adapter=adapter,
                metrics_factory=default_metrics_factory,
                protocol=fake_protocol(),
                clips=FakeClips(),
            )
    finally:
        del os.environ["STFBENCH_WEIGHT_SYNCNET_V2"]
    assert adapter.calls == 0 and not (tmp_path / "run" / "clips.jsonl").exists()


def test_truncated_last_line_is_ignored(tmp_path: Path) -> None:
    run_dir = _run(tmp_path / "run")
    with open(run_dir / "clips.jsonl", "a") as handle:
        handle.write('{"clip_id": "half')
    assert len(RunStore(run_dir).read_records()) == 6
    RunStore(run_dir).read_records(repair=True)
    assert (run_dir / "clips.jsonl").read_text().endswith("}\n")
    assert all(json.loads(line) for line in (run_dir / "clips.jsonl").read_text().splitlines())


def test_parse_shard() -> None:
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(StfbenchError):
            parse_shard(bad)


def test_torchrun_ranks_become_shards_and_rank0_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stfbench.cli.run import torchrun_shard
    from stfbench.runner.merge import wait_for_shards

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert torchrun_shard() == (1, 2)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert torchrun_shard() is None
    _run(tmp_path / "run", shard=(0, 2))
    with pytest.raises(StfbenchError, match="timed out"):
        wait_for_shards(tmp_path / "run", 2, poll_seconds=0.01, timeout=0.05)
    _run(tmp_path / "run", shard=(1, 2))
    wait_for_shards(tmp_path / "run", 2, poll_seconds=0.01, timeout=5)


def test_disk_full_stops_the_run_and_keeps_written_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from stfbench.runner import store as store_module

    original = store_module.write_atomic
    calls = {"n": 0}

    def full_after_two(path, data):
        if path.name == "state.json":
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        original(path, data)

    monkeypatch.setattr(store_module, "write_atomic", full_after_two)
    with pytest.raises(StfbenchError, match=r"run/state\.json: cannot write: No space left on device$"):
        _run(tmp_path / "run")
    monkeypatch.setattr(store_module, "write_atomic", original)
    assert len(RunStore(tmp_path / "run").read_records()) == 2
    assert len(RunStore(tmp_path / "run").load_state()["included_ids"]) == 2
    _check_resumed_equals_reference(tmp_path / "run", tmp_path)


def test_missing_model_checkpoint_fails_before_any_work(tmp_path: Path) -> None:
    from stfbench.adapters.wav2lip import Wav2LipAdapter

    config = RunConfig(model="wav2lip", dataset="fake", out_dir=tmp_path / "run", show_progress=False)
    adapter = Wav2LipAdapter(checkpoint=str(tmp_path / "wav2lip_gan.pth"))
    with pytest.raises(WeightsError, match=r"wav2lip_gan\.pth: Wav2Lip checkpoint not found"):
        run_benchmark(
            config, adapter=adapter, metrics_factory=fake_metrics_factory, protocol=fake_protocol(), clips=FakeClips()
        )
    assert not (tmp_path / "run").exists()


def test_lse_groups_score_each_clip_as_alone_and_precision_is_named_and_hashed(tmp_path: Path, monkeypatch) -> None:
    import dataclasses

    from stfbench.runner.engine import Engine

    base = fake_protocol(names=("psnr", "lse"))
    protocol = dataclasses.replace(
        base, metrics=dataclasses.replace(base.metrics, weights={"syncnet": "syncnet_synthetic"})
    )

    def run(out: Path, **overrides) -> Path:
        config = RunConfig(model="noisy", dataset="fake-test", out_dir=out, show_progress=False, **overrides)
        return run_benchmark(
            config,
            adapter=NoisyAdapter(crash_on="spk1/clip03"),
            metrics_factory=fake_metrics_factory,
            protocol=protocol,
            clips=FakeClips(no_face=("spk0/clip04",)),
        )

    grouped = _records(run(tmp_path / "grouped"))
    monkeypatch.setattr(Engine, "GROUP_SIZE", 1)
    alone = _records(run(tmp_path / "alone"))
    assert [r["status"] for r in grouped] == ["ok", "ok", "ok", "model-error", "no-face", "ok"]
    for one, many in zip(alone, grouped, strict=True):
        assert many.keys() == one.keys() and many["status"] == one["status"]
        for key, value in one["metrics"].items():
            assert many["metrics"][key] == pytest.approx(value, rel=1e-5, abs=1e-6)
    reduced = run(tmp_path / "bf16", lse_precision="bf16")
    manifest = RunStore(reduced).read_manifest()
    assert manifest["protocol"]["lse_precision"] == "bf16" and manifest["protocol"]["hash"] != protocol.hash
    assert "lse[fullframe224,syncnet_synthetic,bf16]" in manifest["metric_settings"]
    for exact, approx in zip(alone, _records(reduced), strict=True):
        if exact["status"] == "ok":
            assert approx["metrics"]["lse_d"] == pytest.approx(exact["metrics"]["lse_d"], rel=0.02)
    with pytest.raises(StfbenchError, match="--lse-precision"):
        run(tmp_path / "bad", lse_precision="int8")


def _lmd_metrics(names, settings, device, trust):
    """PSNR and a real LMD whose stand-in landmarker finds "no face" in frames whose first pixel is dark."""
    from stfbench.metrics.lmd import LMD

    def landmarks(frame: np.ndarray) -> np.ndarray | None:
        if frame[0, 0, 0] < 64:
            return None
        return np.column_stack([np.arange(68) % 32, frame.reshape(-1, 3)[:68, 0] / 8]).astype(np.float64)

    return [*fake_metrics_factory(["psnr"], settings, device, trust), LMD(landmarks)]


def _lmd_run(out: Path, **overrides) -> Path:
    config = RunConfig(model="noisy", dataset="fake-test", out_dir=out, show_progress=False, **overrides)
    return run_benchmark(
        config, adapter=NoisyAdapter(), metrics_factory=_lmd_metrics, protocol=fake_protocol(), clips=FakeClips()
    )


def test_diagnostic_counts_are_counts_and_the_manifest_has_the_frames_scored(tmp_path: Path) -> None:
    run_dir = _lmd_run(tmp_path / "run")
    records = [r for r in _records(run_dir) if r["status"] == "ok"]
    per_clip = [int(r["metrics"]["lmd_frames_no_face"]) for r in records]
    summary = RunStore(run_dir).read_summary()
    assert sum(per_clip) > 0 and "lmd" in summary["metrics"] and "lmd_frames_no_face" not in summary["metrics"]
    assert summary["counts"] == {
        "lmd_frames_no_face": {
            "total": sum(per_clip),
            "clips": sum(n > 0 for n in per_clip),
            "n": len(records),
            "description": "frames without a face in both videos (not in LMD)",
        }
    }
    scored = sum(r["frames"] for r in records) - sum(per_clip)
    settings = RunStore(run_dir).read_manifest()["metric_settings"]["lmd[dlib]"]
    assert (settings["frames_scored"], settings["frames_no_face"]) == (scored, sum(per_clip))
    assert summary["metric_settings"]["lmd[dlib]"] == settings

    sharded = tmp_path / "sharded"  # shards scored different frame counts: they still merge, into the totals
    for index in range(2):
        _lmd_run(sharded, shard=(index, 2))
    merged = merge_shards(sharded, metrics_factory=_lmd_metrics)
    assert RunStore(merged).read_summary()["counts"] == summary["counts"]
    assert RunStore(merged).read_manifest()["metric_settings"]["lmd[dlib]"]["frames_scored"] == scored


def test_run_summary_prints_counts_apart_from_metrics(tmp_path: Path) -> None:
    from rich.console import Console

    from stfbench.cli.run import print_summary

    run_dir = _lmd_run(tmp_path / "run")
    count = RunStore(run_dir).read_summary()["counts"]["lmd_frames_no_face"]
    console = Console(record=True, width=200)
    print_summary(console, run_dir)
    text = console.export_text()
    assert "lmd_frames_no_face" not in text
    line = f"{count['description']}: {count['total']:,} (in {count['clips']} of {count['n']} clips)"
    assert line in text and count["description"].startswith("frames without a face")
