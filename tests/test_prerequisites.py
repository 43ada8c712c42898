"""Every prerequisite of a run checked at once: `stfbench doctor` and `stfbench.prerequisites`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stfbench import prerequisites
from stfbench.adapters.registry import load_adapter
from stfbench.protocols import load_protocol

STFBENCH = str(Path(sys.executable).with_name("stfbench"))


def _doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STFBENCH, "doctor", "--format", "json", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _rows(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {row["item"]: row for row in json.loads(result.stdout)}


def test_lrs2_without_data_or_weights_lists_every_missing_item_with_its_fix(tmp_path: Path) -> None:
    env = {"STFBENCH_WEIGHTS": str(tmp_path / "no-weights"), "STFBENCH_LRS2_ROOT": "", "TORCH_HOME": str(tmp_path)}
    result = _doctor("--dataset", "lrs2", "--model", "synctalkface", env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    rows = _rows(result)
    missing = {item for item, row in rows.items() if not row["ok"]}
    assert missing == {
        "lrs2 dataset root",
        "synctalkface checkpoint",
        "weight pt_inception (fid)",
        "weight syncnet_v2 (lse)",
    }
    assert all(rows[item]["fix"] for item in missing)
    assert "STFBENCH_LRS2_ROOT" in rows["lrs2 dataset root"]["fix"]
    assert "weights import" in rows["weight syncnet_v2 (lse)"]["fix"]


def test_a_root_without_its_list_file_is_one_row(tmp_path: Path) -> None:
    (tmp_path / "lrs2" / "main").mkdir(parents=True)
    checks = prerequisites.check_dataset(load_protocol("lrs2"), tmp_path / "lrs2")
    assert [c.ok for c in checks] == [True, False]
    assert "test.txt" in checks[1].item and "--list-file" in checks[1].fix


def test_synthetic_defaults_are_complete_and_fid_is_optional(tmp_path: Path) -> None:
    result = _doctor("--model", "synctalkface", "--out", str(tmp_path / "run"), env={"TORCH_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(result)
    assert all(row["ok"] for row in rows.values())
    assert rows["weight pt_inception (fid)"]["optional"]
    assert "will be created" in rows["run folder"]["detail"]


def test_an_output_path_that_is_a_file_or_unwritable_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (check,) = prerequisites.check_output_dir(blocker / "run")
    assert not check.ok and "not a folder" in check.detail
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert not prerequisites.check_output_dir(locked / "run")[0].ok


@pytest.mark.parametrize("model", ["synctalkface", "wav2lip"])
def test_a_missing_checkpoint_file_is_named(tmp_path: Path, model: str) -> None:
    adapter = load_adapter(model, checkpoint=str(tmp_path / "nope.pt"))
    (check,) = adapter.prerequisites("lrs2")
    assert not check.ok and "nope.pt" in check.detail


def test_require_raises_with_every_row() -> None:
    checks = [prerequisites.Check("a", True, "x"), prerequisites.Check("b", False, "gone", "get it")]
    with pytest.raises(prerequisites.PrerequisitesError) as caught:
        prerequisites.require(checks)
    assert caught.value.checks == checks and "b: gone" in str(caught.value)


@pytest.mark.parametrize(
    ("args", "items"),
    [
        (["run", "-m", "synctalkface", "-d", "lrs2"], ["lrs2 dataset root", "synctalkface checkpoint", "syncnet_v2"]),
        (["train", "--dataset", "lrs2", "--out", "OUT"], ["lrs2 dataset root", "sync expert"]),
        (["ablate", "--dataset", "lrs2", "--out", "OUT"], ["lrs2 dataset root", "pt_inception", "syncnet_v2"]),
        (["score", "--pred", "OUT", "--gt", "OUT", "--out", "OUT/s"], ["pt_inception", "syncnet_v2"]),
    ],
)
def test_commands_report_every_missing_prerequisite_before_any_work(tmp_path: Path, args, items) -> None:
    env = {**os.environ, "STFBENCH_WEIGHTS": str(tmp_path / "w"), "TORCH_HOME": str(tmp_path), "STFBENCH_LRS2_ROOT": ""}
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    result = subprocess.run([STFBENCH, *args], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "prerequisite" in result.stderr
    for item in items:
        assert item in result.stderr, item
