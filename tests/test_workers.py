"""`--workers` on `run` and `score` (stfbench.runner.engine): records, values and summaries are identical for one or
two workers, a clip failing inside a worker is its record's status, in-flight clips stay bounded, and a killed
two-worker run resumes to the uninterrupted result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from fixtures.runner_fakes import FakeClips, NoisyAdapter, fake_metrics_factory, fake_protocol, fake_run, run_records
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.runner.config import RunConfig
from stfbench.runner.run import run_benchmark
from stfbench.runner.store import RunStore

TESTS = Path(__file__).resolve().parent


def _records(folder: Path) -> list[dict]:
    return run_records(folder)  # protocol order, without the timing field


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_run_and_score_are_identical_for_one_and_two_workers(micro_synthetic, tmp_path: Path) -> None:
    protocol, root = micro_synthetic
    for workers in ("1", "2"):  # generation in this process; pasting, LMD landmarks, LSE input, PSNR/SSIM in workers
        _invoke("run", "--model", "synctalkface", "--dataset", str(protocol), "--root", str(root),
                "--out", str(tmp_path / f"run{workers}"), "--workers", workers,
                *(["--per-frame"] if workers == "2" else []))  # fmt: skip
    records = _records(tmp_path / "run1")
    assert len(records) == 6 and {r["status"] for r in records} == {"ok"}
    assert {"psnr", "ssim", "lmd", "lse_c"} <= set(records[0]["metrics"])
    assert _records(tmp_path / "run2") == records
    assert not (tmp_path / "run1" / "per_frame").exists()
    for record in records:  # run --per-frame: one sidecar per clip, its LSE the record's
        document = RunStore(tmp_path / "run2").read_per_frame(record["clip_id"])
        (detail,) = document["metrics"].values()
        assert detail["lse_c"] == record["metrics"]["lse_c"] and len(detail["frame_conf"]) == record["frames"] - 5
    summaries = [json.loads((tmp_path / f"run{w}" / "summary.json").read_text()) for w in (1, 2)]
    assert summaries[0] == summaries[1]

    pred = tmp_path / "clips"  # the corpus's test clips scored against themselves, and one corrupt file
    pred.mkdir()
    for line in (root / "test.txt").read_text().splitlines():
        clip = line.split()[0]
        (pred / f"{clip.replace('/', '_')}.mp4").symlink_to(root / "main" / f"{clip}.mp4")
    (pred / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    for workers in ("1", "2"):
        out = tmp_path / f"score{workers}"
        _invoke("score", "--pred", str(pred), "--gt", str(pred), "--dataset", str(protocol),
                "--metrics", "psnr,ssim,lmd,lse", "--out", str(out), "--workers", workers)  # fmt: skip
    scored = _records(tmp_path / "score1")
    assert [r["clip_id"] for r in scored] == sorted(p.stem for p in pred.iterdir())
    corrupt = next(r for r in scored if r["clip_id"] == "corrupt")
    assert corrupt["status"] == "decode-error" and "corrupt.mp4" in corrupt["reason"]
    assert sum(r["status"] == "ok" for r in scored) == 6 and scored[0]["metrics"]["lmd"] == 0
    assert _records(tmp_path / "score2") == scored
    summaries = [json.loads((tmp_path / f"score{w}" / "summary.json").read_text()) for w in (1, 2)]
    for summary in summaries:  # the time of writing it and of each start differ, nothing else
        assert len(summary["provenance"].pop("starts")) == 1 and summary["provenance"].pop("time")
    assert summaries[0] == summaries[1] and summaries[0]["failures"] == {"decode-error": 1}


class _Counting(NoisyAdapter):
    """Notes, at each generate, how many clips were generated but not yet recorded."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.in_flight: list[int] = []

    def generate(self, request):
        recorded = len(RunStore(self.run_dir).read_records()) if (self.run_dir / "clips.jsonl").exists() else 0
        self.in_flight.append(self.calls - recorded)
        return super().generate(request)


def _closure_metrics(names, settings, device, trust):
    """PSNR, SSIM, FID and an LMD whose landmarker is a closure (cannot be pickled: its stage stays here)."""
    from stfbench.metrics.lmd import LMD

    def landmarks(frame: np.ndarray) -> np.ndarray:
        return np.column_stack([np.arange(68) % 32, frame.reshape(-1, 3)[:68, 0] / 8]).astype(np.float64)

    return [*fake_metrics_factory(names, settings, device, trust), LMD(landmarks)]


def test_in_flight_clips_are_bounded_and_unpicklable_stages_run_in_the_main_process(tmp_path: Path) -> None:
    clips = FakeClips(count=12, no_face=("spk1/clip05",))
    results = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        adapter = _Counting(out)
        config = RunConfig(model="noisy", dataset="fake-test", out_dir=out, show_progress=False, workers=workers)
        run_benchmark(config, adapter=adapter, metrics_factory=_closure_metrics, protocol=fake_protocol(), clips=clips)
        results[workers] = _records(out), RunStore(out).read_summary()
        assert max(adapter.in_flight) <= (0 if workers == 1 else 4)  # one worker: each clip recorded before the next
    assert results[1] == results[2]
    assert results[2][0][5]["status"] == "no-face" and "lmd" in results[2][0][0]["metrics"]


def test_a_killed_two_worker_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    command = [sys.executable, "-m", "fixtures.runner_fakes", str(killed), "--die-in-generate", "5", "--workers", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 17, done.stderr  # os._exit inside the 5th generate: no cleanup at all
    assert not (killed / "summary.json").exists() and len(RunStore(killed).read_records()) < 6
    fake_run(killed, resume=True, workers=2)
    reference = fake_run(tmp_path / "reference")
    assert _records(killed) == _records(reference)
    assert RunStore(killed).read_summary() == RunStore(reference).read_summary()
