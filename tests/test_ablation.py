"""Ablation: settings parsing, cache identity, and two tiny slot counts trained and run end to end on a
micro synthetic corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.synth import unpinned_synthetic_protocol

from stfbench.errors import StfbenchError
from stfbench.runner.ablation import (
    AblationConfig,
    loss_settings,
    run_ablation,
    slot_settings,
    train_command,
    train_folder,
)


def test_settings_parsing() -> None:
    slots = slot_settings("0,24,96")
    assert [s.label for s in slots] == ["no memory", "24 slots", "96 slots"]
    assert slots[2].train_options == {"--slots": "96"} and slots[2].slots == 96
    losses = loss_settings("av,vv,av+vv")
    assert [s.train_options for s in losses] == [{"--vv-weight": "0"}, {"--av-weight": "0"}, {}]
    for bad in ("", "a,b", "-1", "24,24"):
        with pytest.raises(StfbenchError):
            slot_settings(bad)
    with pytest.raises(StfbenchError):
        loss_settings("gan")


def test_train_folder_changes_with_everything_that_shapes_the_weights(tmp_path: Path) -> None:
    setting = slot_settings("48")[0]
    base = AblationConfig(out_dir=tmp_path, settings=[setting])
    same = AblationConfig(out_dir=tmp_path, settings=[setting], metrics=["psnr"])  # metrics do not change weights
    assert train_folder(base, setting) == train_folder(same, setting)
    for change in ({"steps": 301}, {"seed": 1}, {"batch_size": 4}, {"preset": "paper"}, {"expert": "x.pth"}):
        other = AblationConfig(out_dir=tmp_path, settings=[setting], **change)
        assert train_folder(other, setting) != train_folder(base, setting)


@pytest.mark.slow
def test_two_slot_counts_end_to_end_on_a_micro_corpus(tmp_path: Path) -> None:
    from stfbench.synth import ensure_corpus

    root = ensure_corpus(tmp_path / "corpus", speakers=2, clips=5, seed=3, duration_s=1.0, image_size=96)
    protocol = unpinned_synthetic_protocol(tmp_path)
    config = AblationConfig(
        out_dir=tmp_path / "ablation",
        dataset=str(protocol),
        settings=slot_settings("0,4"),
        root=root,
        steps=2,
        batch_size=2,
        metrics=["psnr", "ssim"],
        extra_train_options={"--av-weight": "0", "--gan-weight": "0"},
        show_progress=False,
    )
    run_dirs = run_ablation(config)
    assert [d.name for d in run_dirs] == ["slots-0", "slots-4"]
    for run_dir in run_dirs:
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["n_scored"] == summary["n_expected"] > 0
        assert summary["model"]["slots"] in (0, 4)
    table = (config.out_dir / "ablation.md").read_text()
    assert "| no memory |" in table and "| 4 slots |" in table
    assert (config.out_dir / "ablation.png").stat().st_size > 5000
    checkpoints = sorted(config.out_dir.glob("train/*/inference.pt"))
    assert len(checkpoints) == 2
    stamps = [p.stat().st_mtime_ns for p in checkpoints]
    run_ablation(config)  # everything cached or complete: nothing is retrained
    assert [p.stat().st_mtime_ns for p in checkpoints] == stamps


def test_tiny_default_schedule_and_train_option_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny default trains at the committed checkpoints' lr; `--train-opt --lr-g=…` wins; paper keeps 1e-4."""
    from typer.testing import CliRunner

    import stfbench.cli.ablate as ablate_cli
    from stfbench.cli import app

    seen: list[AblationConfig] = []

    def capture(config: AblationConfig) -> list[Path]:
        seen.append(config)
        (config.out_dir).mkdir(parents=True, exist_ok=True)
        (config.out_dir / "ablation.md").write_text("table")
        return []

    monkeypatch.setattr("stfbench.runner.ablation.run_ablation", capture)  # imported by the command at call time
    runner = CliRunner()
    for extra in ([], ["--train-opt", "--lr-g=5e-4"], ["--preset", "paper"], ["--train-opt", "--vv-detach-gt"]):
        result = runner.invoke(app, ["ablate", "--slots", "0", "--out", str(tmp_path / str(len(seen))), *extra])
        assert result.exit_code == 0, result.output
    assert seen[0].extra_train_options == {"--lr-g": "1e-3"} and seen[0].steps == ablate_cli.TINY_STEPS
    assert seen[1].extra_train_options == {"--lr-g": "5e-4"}
    assert seen[2].extra_train_options == {} and seen[2].steps == 200_000
    assert seen[3].extra_train_options == {"--lr-g": "1e-3", "--vv-detach-gt": None}
    command = train_command(seen[3], seen[3].settings[0], tmp_path / "run")
    assert command[-5:] == ["--lr-g", "1e-3", "--vv-detach-gt", "--slots", "0"]  # a switch goes without a value
    bad = runner.invoke(app, ["ablate", "--slots", "0", "--out", str(tmp_path / "bad"), "--train-opt", "lr=1"])
    assert isinstance(bad.exception, StfbenchError) and "--train-opt lr=1" in str(bad.exception)


def test_ablation_caption_states_the_schedule_and_only_computed_metrics(tmp_path: Path) -> None:
    from stfbench.runner.ablation import write_outputs

    settings = slot_settings("0,96")
    protocol = {"id": "synthetic", "hash": "a" * 64, "dataset": "synthetic", "lse_variant": "fullframe224"}
    run_dirs = []
    for setting, psnr in zip(settings, (21.0, 21.5), strict=True):
        run_dir = tmp_path / "runs" / setting.name
        run_dir.mkdir(parents=True)
        summary = {
            "protocol": protocol,
            "model": {"label": setting.label, "is_control": False, "uses_ground_truth_video": False},
            "metrics": {k: {"mean": v, "ci95": [v - 0.1, v + 0.1]} for k, v in {"psnr": psnr, "ssim": 0.7}.items()},
            "n_scored": 40,
            "n_expected": 40,
            "failures": {},
            "metric_settings": {},
            "stfbench_version": "0.1.0",
        }
        (run_dir / "summary.json").write_text(json.dumps(summary))
        run_dirs.append(run_dir)
    config = AblationConfig(
        out_dir=tmp_path,
        settings=settings,
        steps=200,
        batch_size=8,
        seed=3,
        limit_clips=12,
        extra_train_options={"--lr-g": "1e-3", "--gan-weight": "0", "--vv-detach-gt": None},
    )
    write_outputs(config, run_dirs)
    caption = (tmp_path / "ablation.tex").read_text().split("\\caption{")[1].split("}\n")[0]
    assert caption.startswith(
        "Every variant: SyncTalkFace tiny trained 200 steps $\\times$ batch 8 (5-frame windows) at generator lr 1e-3 "
        "(Adam), seed 3, on the first 12 training clips; train options --gan-weight=0 --vv-detach-gt."
    )
    assert "LSE" not in caption and "FID" not in caption  # only PSNR and SSIM were computed
    assert "Every variant: SyncTalkFace tiny trained 200 steps × batch 8" in (tmp_path / "ablation.md").read_text()
    paper = AblationConfig(out_dir=tmp_path, settings=settings, preset="paper", steps=200_000, batch_size=40)
    write_outputs(paper, run_dirs)
    assert (
        "paper trained 200,000 steps × batch 40 (5-frame windows) at generator lr 1e-4 (Adam), seed 0."
        in (tmp_path / "ablation.md").read_text()
    )
