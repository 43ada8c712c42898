"""LipLeak (open-mouth fraction and mean inner-lip MAR) and `run --audio silent`: the definition on hand-built
landmarks, the streaming state, silence reaching the model, the leaderboard's silent-audio group, and the
bounds on the synthetic corpus (a closed-mouth `static` reference, the speaking ground truth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_fakes import NoisyAdapter, fake_run

from stfbench.errors import NoFaceError, StfbenchError
from stfbench.metrics.base import ScoringSample
from stfbench.metrics.lipleak import LipLeak, inner_mouth_aspect_ratio


def _mouth(opening: float, width: float = 20.0) -> np.ndarray:
    """(68, 2) landmarks whose inner lips (60–67) are `width` wide and open by `opening` at 61–63 / 65–67."""
    points = np.zeros((68, 2))
    points[60], points[64] = (0.0, 0.0), (width, 0.0)
    for top, bottom, x in ((61, 67, 5.0), (62, 66, 10.0), (63, 65, 15.0)):
        points[top], points[bottom] = (x, -opening / 2), (x, opening / 2)
    return points


def test_inner_mouth_aspect_ratio_definition():
    assert inner_mouth_aspect_ratio(_mouth(0.0)) == 0.0
    assert inner_mouth_aspect_ratio(_mouth(5.0, 20.0)) == pytest.approx(0.25)
    assert inner_mouth_aspect_ratio(_mouth(4.0, 10.0)) == pytest.approx(0.4)
    assert inner_mouth_aspect_ratio(np.zeros((68, 2))) == 0.0  # degenerate width


def _metric(threshold: float = 0.2) -> LipLeak:
    """LipLeak on a stand-in landmarker: frame value v (its mean grey level / 100) is its MAR; 0 = no face."""

    def landmarker(frame: np.ndarray) -> np.ndarray | None:
        level = float(frame.mean())
        return None if level == 0 else _mouth(20.0 * level / 100.0)

    return LipLeak(landmarker, "stand-in", threshold)


def _clip(ratios: list[float]) -> np.ndarray:
    return np.stack([np.full((8, 8, 3), round(r * 100), np.uint8) for r in ratios])  # (T, 8, 8, 3)


def test_lipleak_pools_frames_counts_faceless_ones_and_merges():
    metric = _metric()
    values = metric.update(ScoringSample("a", _clip([0.1, 0.3, 0.25, 0.0])))  # the last frame: no face
    assert values["lipleak"] == pytest.approx(2 / 3) and values["mar"] == pytest.approx((0.1 + 0.3 + 0.25) / 3)
    assert values["lipleak_frames_no_face"] == 1
    metric.update(ScoringSample("b", _clip([0.05])))
    assert metric.compute()["lipleak"] == pytest.approx(2 / 4)
    assert metric.compute()["mar"] == pytest.approx((0.1 + 0.3 + 0.25 + 0.05) / 4)
    assert metric.name == "lipleak[stand-in,mar>0.20]"
    merged = _metric()
    merged.merge(json.loads(json.dumps(metric.state_dict())))
    assert merged.compute() == metric.compute()
    with pytest.raises(NoFaceError, match="no generated frame with a face"):
        metric.update(ScoringSample("c", _clip([0.0, 0.0])))
    with pytest.raises(StfbenchError, match="threshold"):
        _metric(1.5)


class _Listening(NoisyAdapter):
    """Notes the peak amplitude of every driving audio it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.peaks: list[float] = []

    def generate(self, request):
        self.peaks.append(float(np.abs(request.audio).max()))
        return super().generate(request)


def test_silent_audio_reaches_the_model_and_is_recorded(tmp_path: Path):
    speaking, silent = _Listening(), _Listening()
    fake_run(tmp_path / "speech", adapter=speaking, metrics=["psnr"])
    fake_run(tmp_path / "silent", adapter=silent, metrics=["fid"], audio="silent")
    assert min(speaking.peaks) > 0 and max(silent.peaks) == 0 and len(silent.peaks) == len(speaking.peaks)
    summary = json.loads((tmp_path / "silent" / "summary.json").read_text())
    assert summary["protocol"]["driving_audio"] == "silent"
    assert "driving_audio" not in json.loads((tmp_path / "speech" / "summary.json").read_text())["protocol"]
    with pytest.raises(StfbenchError, match="--audio silent: psnr, lse cannot be measured"):
        fake_run(tmp_path / "refused", metrics=["psnr", "lse", "fid"], audio="silent")


def test_leakage_on_the_synthetic_corpus_and_its_leaderboard_group(micro_synthetic, tmp_path, stfbench_script):
    """Static (it copies the reference frame, so it leaks exactly where that frame's mouth is open) and
    SyncTalkFace under silence, and the ground truth with its speech (open on speech frames), as a leaderboard
    group of its own."""
    protocol, root = micro_synthetic
    common = ["--dataset", str(protocol), "--root", str(root), "--no-progress", "--workers", "1"]
    for model in ("static", "synctalkface", "ground-truth"):
        done = stfbench_script("run", "--model", model, *common, "--audio", "silent", "--out", str(tmp_path / model))
        assert done.returncode == 0, done.stderr
    values = {m: json.loads((tmp_path / m / "summary.json").read_text())["metrics"] for m in ("static", "ground-truth")}
    speech_open = values["ground-truth"]["lipleak"]["mean"]
    assert 0.2 < speech_open < 0.9  # speech opens the mouth on many frames, not all (pauses, closures)
    static = [json.loads(line)["metrics"]["lipleak"] for line in (tmp_path / "static" / "clips.jsonl").open()]
    assert set(static) <= {0.0, 1.0}  # a still reference frame: its one mouth is open on every frame or on none
    done = stfbench_script("leaderboard", *(str(tmp_path / m) for m in ("synctalkface", "static", "ground-truth")))
    assert done.returncode == 0, done.stderr
    assert "Synthetic, silent audio LipLeak↓" in done.stdout
    assert "Silent audio: every clip driven by silence" in done.stdout
    refused = stfbench_script("run", "--model", "static", *common, "--audio", "silent", "--metrics", "lmd",
                              "--out", str(tmp_path / "refused"))  # fmt: skip
    assert refused.returncode == 2 and "cannot be measured under silent driving audio" in refused.stderr
    assert refused.stderr.count("\n") == 1
