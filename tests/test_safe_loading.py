"""Loading a file never runs code: every entry point that reads a user's torch file or run folder refuses a
crafted pickle with one line (exit 2) and the pickle's payload never runs."""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from stfbench.adapters.wav2lip import Wav2Lip, load_wav2lip
from stfbench.errors import StfbenchError, WeightsError
from stfbench.runner import state_codec
from stfbench.runner.store import RunStore

STFBENCH = str(Path(sys.executable).with_name("stfbench"))


class _Payload:
    """Unpickling this calls `Path(marker).touch()`: proof that loading ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _evil_torch_file(path: Path, marker: Path, wrap_in_checkpoint: bool = True) -> Path:
    """A torch.save file shaped like a checkpoint whose unpickling would create `marker`."""
    payload = {"format": "stfbench-checkpoint/1", "state_dict": {"w": torch.zeros(2)}, "x": _Payload(marker)}
    torch.save(payload if wrap_in_checkpoint else _Payload(marker), path)
    return path


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STFBENCH, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300
    )


def _refused(result: subprocess.CompletedProcess, path: Path, marker: Path) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], result.stderr
    assert not marker.exists(), "the crafted pickle ran code"


def _tiny_protocol(tmp_path: Path) -> str:
    """The synthetic protocol without its pinned clip count and hash, so it runs on the tests' tiny corpus."""
    import stfbench.protocols

    text = (Path(stfbench.protocols.__file__).with_name("synthetic.toml")).read_text()
    lines = [line for line in text.splitlines() if not line.startswith(("count =", "sha256 ="))]
    path = tmp_path / "tiny-synthetic.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture()
def crafted(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "PWNED"
    return _evil_torch_file(tmp_path / "evil.pt", marker), marker


def test_run_synctalkface_checkpoint(synthetic_corpus: Path, crafted, tmp_path: Path) -> None:
    evil, marker = crafted
    result = _cli("run", "-m", "synctalkface", "-d", _tiny_protocol(tmp_path), "--root", str(synthetic_corpus),
                  "--checkpoint", str(evil), "--metrics", "psnr", "-o", str(tmp_path / "run"))  # fmt: skip
    _refused(result, evil, marker)
    assert "refuses" in result.stderr


def test_run_wav2lip_checkpoint_names_the_opt_in(synthetic_corpus: Path, crafted, tmp_path: Path) -> None:
    evil, marker = crafted
    evil = evil.rename(tmp_path / "wav2lip.pth")
    result = _cli("run", "-m", "wav2lip", "-d", _tiny_protocol(tmp_path), "--root", str(synthetic_corpus),
                  "--checkpoint", str(evil), "--metrics", "psnr", "-o", str(tmp_path / "run"))  # fmt: skip
    _refused(result, evil, marker)
    assert f"--allow-pickle {evil}" in result.stderr


def test_registry_override_with_trust_unverified(synthetic_corpus: Path, crafted, tmp_path: Path) -> None:
    evil, marker = crafted
    env = {"STFBENCH_WEIGHT_SYNCTALKFACE_TINY_SYNTHETIC": str(evil)}
    result = _cli("run", "-m", "synctalkface", "-d", _tiny_protocol(tmp_path), "--root", str(synthetic_corpus),
                  "--metrics", "psnr", "--trust-unverified", "-o", str(tmp_path / "run"), env=env)  # fmt: skip
    _refused(result, evil, marker)


def test_generate_and_memory_checkpoints(synthetic_corpus: Path, crafted, tmp_path: Path) -> None:
    evil, marker = crafted
    video = next(iter(sorted((synthetic_corpus / "main").rglob("*.mp4"))))
    result = _cli("generate", "--checkpoint", str(evil), "--video", str(video), "--out", str(tmp_path / "o.mp4"))
    _refused(result, evil, marker)
    result = _cli("memory", "--checkpoint", str(evil), "--root", str(synthetic_corpus), "--out", str(tmp_path / "m"))
    _refused(result, evil, marker)


def test_train_expert(synthetic_corpus: Path, crafted, tmp_path: Path) -> None:
    evil, marker = crafted
    result = _cli("train", "--dataset", "synthetic", "--root", str(synthetic_corpus), "--preset", "micro",
                  "--expert", str(evil), "--steps", "1", "--out", str(tmp_path / "t"))  # fmt: skip
    _refused(result, evil, marker)


def test_old_pickled_run_state_is_refused_not_unpickled(tmp_path: Path) -> None:
    """`run --resume`, `merge` and RunStore.load_state refuse a state.pkl with one line and never unpickle it."""
    from fixtures.runner_fakes import FakeClips, fake_metrics_factory, fake_run

    from stfbench.runner.merge import merge_shards

    marker = tmp_path / "PWNED"
    crafted = pickle.dumps(_Payload(marker))
    run = tmp_path / "run"
    run.mkdir()
    (run / "state.pkl").write_bytes(crafted)
    with pytest.raises(StfbenchError, match=r"state\.pkl from an older stfbench"):
        RunStore(run).load_state()

    fake_run(tmp_path / "single", FakeClips(count=3))
    RunStore(tmp_path / "single").clear_state()
    (tmp_path / "single" / "state.pkl").write_bytes(crafted)
    with pytest.raises(StfbenchError, match=r"state\.pkl from an older stfbench"):
        fake_run(tmp_path / "single", FakeClips(count=3), resume=True)

    sharded = tmp_path / "sharded"
    for index in range(2):
        fake_run(sharded, FakeClips(count=3), shard=(index, 2))
    shard = sharded / "shard-000-of-002"
    RunStore(shard).clear_state()
    (shard / "state.pkl").write_bytes(crafted)
    with pytest.raises(StfbenchError, match=r"state\.pkl"):
        merge_shards(sharded, metrics_factory=fake_metrics_factory)
    assert not marker.exists()


def test_allow_pickle_names_the_one_legacy_file_it_trusts(tmp_path: Path) -> None:
    """A legacy checkpoint that pickles a plain Python object loads only when --allow-pickle names it."""
    torch.manual_seed(0)
    model = Wav2Lip(0.25).eval()
    legacy = tmp_path / "legacy.pth"
    torch.save({"state_dict": model.state_dict(), "optimizer": {"param_groups": [{"betas": range(2)}]}}, legacy)
    with pytest.raises(WeightsError, match=r"--allow-pickle .*legacy\.pth"):
        load_wav2lip(legacy)
    other = tmp_path / "other.pth"
    other.write_bytes(b"x")
    with pytest.raises(WeightsError):
        load_wav2lip(legacy, allow_pickle=other)  # naming another file trusts nothing
    loaded = load_wav2lip(legacy, allow_pickle=legacy)
    face, audio = torch.rand(1, 6, 96, 96), torch.randn(1, 1, 80, 16)
    with torch.no_grad():
        assert torch.equal(loaded.model(audio, face), model(audio, face))


def test_state_round_trip_is_exact_and_strict_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    state = {
        "metric_states": [
            {"total": 0.1 + 0.2, "count": 3},  # a float64 that must come back bit for bit
            {
                "pred": {
                    "n": np.int64(5),
                    "sum": rng.normal(size=4),
                    "outer": rng.normal(size=(4, 4)).astype(np.float32),
                }
            },
            {"sums": {"lse_c": float("inf"), "lse_d": float("nan")}, "clips": 2},
            {"tensor": torch.arange(3, dtype=torch.float16), "pair": (1, "a")},
        ],
        "included_ids": ["a", "b"],
        "last_record": {"clip_id": "b", "metrics": {"psnr": float("-inf")}},
    }
    store = RunStore(tmp_path)
    store.save_state(state)
    store.save_state(state)  # the second save replaces the first npz
    assert len(list(tmp_path.glob("state.*.npz"))) == 1
    json.loads((tmp_path / "state.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    back = store.load_state()
    assert back["metric_states"][0]["total"] == 0.1 + 0.2 and back["metric_states"][0]["count"] == 3
    pred = back["metric_states"][1]["pred"]
    assert pred["n"] == 5 and pred["outer"].dtype == np.float32
    np.testing.assert_array_equal(pred["sum"], state["metric_states"][1]["pred"]["sum"])
    sums = back["metric_states"][2]["sums"]
    assert sums["lse_c"] == float("inf") and np.isnan(sums["lse_d"])
    assert torch.equal(back["metric_states"][3]["tensor"], state["metric_states"][3]["tensor"])
    assert back["metric_states"][3]["pair"] == (1, "a")
    assert back["last_record"]["metrics"]["psnr"] == float("-inf")
    with pytest.raises(TypeError):
        state_codec.encode({"x": object()})


def test_every_metric_state_survives_the_codec(tmp_path: Path) -> None:
    """The state_dict of every metric class, after an update, round-trips and merges to equal values (LPIPS
    shares PSNR/SSIM's FrameMeanMetric state; LMD runs on a stand-in landmarker: random crops have no face)."""
    from fixtures.runner_fakes import fake_metrics_factory

    from stfbench.metrics import build_metrics
    from stfbench.metrics.base import ScoringSample
    from stfbench.metrics.lmd import LMD
    from stfbench.metrics.psnr import PSNR
    from stfbench.metrics.ssim import SSIM

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (12, 96, 96, 3), np.uint8)  # (T, S, S, 3)
    noisy = np.clip(frames.astype(int) + rng.integers(-9, 9, frames.shape), 0, 255).astype(np.uint8)
    sample = ScoringSample(
        clip_id="c",
        pred_crops=noisy,
        gt_crops=frames,
        pred_frames=np.repeat(np.repeat(noisy, 3, axis=1), 3, axis=2)[:, :224, :224],  # (T, 224, 224, 3)
        audio=rng.normal(0, 0.1, 12 * 640).astype(np.float32),
    )
    settings = {"lse": {"weights": "syncnet_synthetic"}}
    metrics = [
        PSNR(),
        SSIM(),
        *fake_metrics_factory(["fid"], {}, torch.device("cpu"), False),
        *build_metrics(["lse"], settings, "cpu"),
        LMD(lambda frame: np.full((68, 2), frame.mean(), np.float64) + np.arange(68)[:, None]),
    ]
    for metric in metrics:
        metric.update(sample)
    store = RunStore(tmp_path)
    store.save_state({"metric_states": [m.state_dict() for m in metrics]})
    restored = store.load_state()["metric_states"]
    for metric, saved in zip(metrics, restored, strict=True):
        fresh = type(metric).__new__(type(metric))
        fresh.__dict__ = {**metric.__dict__}
        fresh.reset()
        fresh.merge(saved)
        assert fresh.compute() == metric.compute(), type(metric).__name__


def test_unchanged_read_only_arrays_are_not_rewritten(tmp_path: Path) -> None:
    """A read-only array (FID's folded sums) saved again as the very same object stays in the npz an earlier
    save wrote; a new object, or a writeable array, is written anew; loading joins both files exactly."""
    rng = np.random.default_rng(2)
    folded = rng.normal(size=(8, 8))
    folded.flags.writeable = False
    store = RunStore(tmp_path)
    store.save_state({"sums": folded, "pending": rng.normal(size=(2, 8))})
    first = set(json.loads((tmp_path / "state.json").read_text())["arrays"])
    pending = rng.normal(size=(3, 8))
    store.save_state({"sums": folded, "pending": pending})
    second = set(json.loads((tmp_path / "state.json").read_text())["arrays"])
    assert len(first) == len(second) == 2 and len(first & second) == 1  # the folded sums' file is reused
    assert {p.name for p in tmp_path.glob("state.*.npz")} == second  # the old pending file is removed
    back = RunStore(tmp_path).load_state()
    np.testing.assert_array_equal(back["sums"], folded)
    np.testing.assert_array_equal(back["pending"], pending)
    replaced = folded + 1
    replaced.flags.writeable = False
    store.save_state({"sums": replaced, "pending": pending})
    third = set(json.loads((tmp_path / "state.json").read_text())["arrays"])
    assert not third & second
    np.testing.assert_array_equal(RunStore(tmp_path).load_state()["sums"], replaced)


def test_state_naming_one_npz_still_loads(tmp_path: Path) -> None:
    """state.json written before read-only arrays got their own file names one npz as a string."""
    np.savez(tmp_path / "state.1.npz", a0=np.arange(4.0))
    document = {"schema": state_codec.SCHEMA, "arrays": "state.1.npz", "state": {"x": {"__array__": "a0"}}}
    (tmp_path / "state.json").write_text(json.dumps(document))
    np.testing.assert_array_equal(RunStore(tmp_path).load_state()["x"], np.arange(4.0))
