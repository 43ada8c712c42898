"""Scale-out as docs/runner.md describes it, through the installed console script: a scheduler's job array
(each task runs `--shard $TASK_ID/N`, then `stfbench merge`) and `torchrun` with 2 CPU processes both give
the summary of one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STFBENCH = str(Path(sys.executable).with_name("stfbench"))
RUN_ARGS = ["run", "--model", "static", "--dataset", "synthetic", "--metrics", "psnr,ssim"]


def _stfbench(*args: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([STFBENCH, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def _scored(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    return {"metrics": summary["metrics"], "n_scored": summary["n_scored"], "n_expected": summary["n_expected"]}


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The summary of the whole protocol scored by one process: what every scale-out path must equal."""
    out = tmp_path_factory.mktemp("one") / "run"
    _stfbench(*RUN_ARGS, "--out", str(out), "--no-progress")
    return _scored(out)


def test_job_array_shards_then_merge_equal_one_process(tmp_path: Path, one_process: dict) -> None:
    for task_id in ("0", "1"):  # what SLURM_ARRAY_TASK_ID (or PBS_ARRAY_INDEX, SGE_TASK_ID − 1) would hold
        shell = f'{STFBENCH} {" ".join(RUN_ARGS)} --shard "$SLURM_ARRAY_TASK_ID/2" --out {tmp_path / "array"}'
        result = subprocess.run(
            ["sh", "-c", shell + " --no-progress"],
            capture_output=True,
            text=True,
            env={**os.environ, "SLURM_ARRAY_TASK_ID": task_id},
        )
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "array").glob("shard-*")) == ["shard-000-of-002", "shard-001-of-002"]
    _stfbench("merge", str(tmp_path / "array"))
    assert _scored(tmp_path / "array") == one_process


def test_torchrun_two_cpu_processes_equal_one_process(tmp_path: Path, one_process: dict) -> None:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = subprocess.run(
        [*launcher, "-m", "stfbench", *RUN_ARGS, "--out", str(tmp_path / "ranks"), "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert _scored(tmp_path / "ranks") == one_process
    manifest = json.loads((tmp_path / "ranks" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
