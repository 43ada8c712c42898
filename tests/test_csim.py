"""CSIM: the arcface_torch iResNet loader (seeded weights in the released key layout), 5-point alignment, the
streaming metric, its clip stage in a worker, and the missing-weights error of the console script."""

from __future__ import annotations

import json
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from stfbench.errors import NoFaceError, WeightsError
from stfbench.metrics import ScoringSample
from stfbench.metrics.csim import CSIM, ArcFaceAligner
from stfbench.metrics.networks.arcface import (
    ARCFACE_TEMPLATE,
    IResNet,
    align_face,
    embed,
    five_points,
    load_arcface,
    similarity_to_template,
)

CROP = 96


def _points(shift: float = 0.0) -> np.ndarray:
    """(68, 2) landmarks whose five ArcFace points are the template scaled into a 96-px crop, moved by `shift`."""
    five = ARCFACE_TEMPLATE * CROP / 112 + shift
    points = np.full((68, 2), CROP / 2)
    points[36:42], points[42:48], points[30], points[48], points[54] = five
    return points


def _landmarker(frame: np.ndarray) -> np.ndarray | None:
    """A stand-in 68-point landmarker: no face on an all-black frame, else the template's points."""
    return None if not frame.any() else _points()


def _seeded_backbone(path: Path, blocks=(1, 1, 1, 1), seed: int = 0, extra: dict | None = None) -> Path:
    """A seeded iResNet saved as arcface_torch saves `backbone.pth` (fp16 tensors, same keys)."""
    torch.manual_seed(seed)
    model = IResNet(blocks)
    for module in model.modules():  # non-trivial batch-norm statistics, as a trained file has
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({**state, **(extra or {})}, path)
    return path


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _seeded_backbone(tmp_path_factory.mktemp("arcface") / "backbone.pth")


def _faces(seed: int, frames: int = 3) -> np.ndarray:
    """(frames, 96, 96, 3) uint8 smooth random 'faces' (one per seed, slightly varying per frame)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.uniform(0, 255, (CROP, CROP, 3)), (3, 3, 0))
    base = 128 + 60 * (base - base.mean()) / base.std()  # full contrast
    return np.stack([np.clip(base + 4 * t, 1, 255) for t in range(frames)]).astype(np.uint8)


def test_loader_reads_the_released_layout_strictly_as_fp32(backbone, tmp_path):
    model = load_arcface(backbone)
    assert model.blocks == (1, 1, 1, 1) and all(p.dtype == torch.float32 for p in model.parameters())
    saved = torch.load(backbone, weights_only=True)
    assert model.state_dict()["layer4.0.bn3.running_var"].equal(saved["layer4.0.bn3.running_var"].float())
    assert {"conv1.weight", "prelu.weight", "layer1.0.downsample.0.weight", "fc.bias", "features.weight"} <= set(saved)
    missing = dict(saved)
    del missing["layer2.0.prelu.weight"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(WeightsError, match=r"missing.pth.*missing layer2\.0\.prelu\.weight") as error:
        load_arcface(tmp_path / "missing.pth")
    assert "\n" not in str(error.value)
    extra = _seeded_backbone(tmp_path / "extra.pth", extra={"head.weight": torch.zeros(3)})
    with pytest.raises(WeightsError, match=r"unexpected head\.weight"):
        load_arcface(extra)
    torch.save({**saved, "fc.weight": torch.zeros(512, 10)}, tmp_path / "shape.pth")
    with pytest.raises(WeightsError, match="size mismatch"):
        load_arcface(tmp_path / "shape.pth")
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickled.pth")  # needs unpickling a module: refused
    with pytest.raises(WeightsError, match="cannot read the ArcFace state dict"):
        load_arcface(tmp_path / "pickled.pth")


def test_alignment_puts_the_five_points_on_the_template():
    assert np.allclose(similarity_to_template(ARCFACE_TEMPLATE), [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    points = _points(shift=5.0)
    matrix = similarity_to_template(five_points(points))
    moved = five_points(points) @ matrix[:, :2].T + matrix[:, 2]
    assert np.allclose(moved, ARCFACE_TEMPLATE, atol=1e-6)
    frame = np.zeros((CROP, CROP, 3), np.uint8)
    x, y = np.round(five_points(points)[2]).astype(int)  # a bright dot on the nose tip …
    frame[y - 1 : y + 2, x - 1 : x + 2] = 255
    aligned = align_face(frame, points)
    assert aligned.shape == (112, 112, 3) and aligned.dtype == np.uint8
    weight = aligned[..., 0].astype(np.float64)
    rows, cols = np.indices(weight.shape)
    centre = np.array([(cols * weight).sum(), (rows * weight).sum()]) / weight.sum()  # … lands where the warp sends it
    assert np.allclose(centre, matrix @ [x, y, 1], atol=0.05)
    assert np.allclose(centre, ARCFACE_TEMPLATE[2], atol=0.6)  # the template's nose tip, up to the dot's rounding


def _metric(backbone: Path) -> CSIM:
    return CSIM(load_arcface(backbone), ArcFaceAligner(_landmarker), label="seeded")


def test_identical_frames_score_one_and_a_different_face_lower(backbone):
    metric = _metric(backbone)
    face = _faces(1)
    same = metric.update(ScoringSample("same", face, reference_crops=np.repeat(face[:1], 3, axis=0)))
    assert same["csim"] < 1 + 1e-6 and same["csim"] > 0.99  # frames 1, 2 differ from frame 0 only in brightness
    exact = metric.update(ScoringSample("exact", np.repeat(face[:1], 3, axis=0), reference_crops=face[:1]))
    assert exact["csim"] == pytest.approx(1.0, abs=1e-6)
    other = metric.update(ScoringSample("other", _faces(2), reference_crops=face[:1]))
    assert other["csim"] < exact["csim"] - 1e-3
    scored = metric.update(ScoringSample("score", _faces(2), gt_crops=face))  # `score`: the first GT frame
    assert scored["csim"] == other["csim"]
    values = embed(metric.model, np.stack([align_face(face[0], _points())]), torch.device("cpu"))
    assert values.shape == (1, 512) and np.linalg.norm(values[0]) == pytest.approx(1.0, abs=1e-5)


def test_faceless_frames_are_counted_and_a_faceless_reference_fails(backbone):
    metric = _metric(backbone)
    frames = _faces(3, frames=4)
    frames[1] = 0
    values = metric.update(ScoringSample("c", frames, reference_crops=frames[:1]))
    assert values["csim_frames_no_face"] == 1.0 and metric.frames == 3
    with pytest.raises(NoFaceError, match="reference"):
        metric.update(ScoringSample("d", frames, reference_crops=np.zeros_like(frames[:1])))


def test_merging_two_halves_equals_the_whole(backbone):
    samples = [ScoringSample(f"c{i}", _faces(10 + i), reference_crops=_faces(i % 2)[:1]) for i in range(4)]
    whole, first, second = _metric(backbone), _metric(backbone), _metric(backbone)
    per_clip = [whole.update(s)["csim"] for s in samples]
    for s in samples[:2]:
        first.update(s)
    for s in samples[2:]:
        second.update(s)
    first.merge(pickle.loads(pickle.dumps(second.state_dict())))
    assert first.compute() == whole.compute()
    assert whole.compute()["csim"] == pytest.approx(np.mean(per_clip), abs=1e-15)
    assert first.settings()["frames_scored"] == 12


def test_clip_stage_runs_in_a_worker_and_the_reference_side_is_cached(backbone, tmp_path):
    from stfbench.metrics.gt_cache import GTCache

    metric = _metric(backbone)
    metric.identity = {"arcface": "seeded"}
    assert metric.use_gt_cache(GTCache(tmp_path / "gt")) is not None
    sample = ScoringSample("c0", _faces(4), reference_crops=_faces(5)[:1])
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        sample.staged[metric.name] = pool.submit(metric.clip_stage(), sample).result()
    assert metric.update(sample) == _metric(backbone).update(
        ScoringSample("c0", _faces(4), reference_crops=_faces(5)[:1])
    )
    assert list((tmp_path / "gt").rglob("*.npz"))  # the reference embedding went into the cache
    cached = _metric(backbone)
    cached.identity = metric.identity
    cached.use_gt_cache(GTCache(tmp_path / "gt"))
    cached.reference_embeddings = None  # a cache hit never recomputes the reference side
    assert cached.update(ScoringSample("c0", _faces(4), reference_crops=_faces(5)[:1])) == metric.update(sample)


def test_missing_weights_is_one_line_naming_the_file_through_the_console_script(stfbench_script, tmp_path):
    from stfbench.metrics import build_metrics

    with pytest.raises(WeightsError) as error:
        build_metrics("csim")
    assert "\n" not in str(error.value) and "ms1mv3_arcface_r100_fp16_backbone.pth" in str(error.value)
    (tmp_path / "gt.mp4").write_bytes(b"")  # never read: the weights are checked first
    done = stfbench_script(
        "score", "--pred", str(tmp_path / "gt.mp4"), "--gt", str(tmp_path / "gt.mp4"), "--metrics", "csim",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    row = next(line for line in done.stderr.splitlines() if "MISSING" in line)  # the prerequisites table's row
    assert "ms1mv3_arcface_r100_fp16_backbone.pth not found" in row
    assert "stfbench weights import PATH --as arcface_r100" in row
    assert done.stderr.splitlines()[-1] == "error: 1 prerequisite(s) missing (rows above); nothing was run"


@pytest.mark.slow
def test_run_reports_csim_and_cpbd_with_the_files_own_digest(micro_synthetic, backbone, tmp_path, stfbench_script,
                                                             monkeypatch):  # fmt: skip
    """A seeded file (no published digest to check) is named by its own digest, never as the released weights;
    `static` copies the reference frame (CSIM 1), the ground truth moves away from it."""
    monkeypatch.setenv("STFBENCH_WEIGHT_ARCFACE_R100", str(backbone))
    protocol, root = micro_synthetic
    common = ["--dataset", str(protocol), "--root", str(root), "--no-progress", "--metrics", "csim,cpbd"]
    for model, workers in (("static", "2"), ("ground-truth", "1")):
        done = stfbench_script("run", "--model", model, *common, "--workers", workers, "--out", str(tmp_path / model))
        assert done.returncode == 0, done.stderr
    summaries = {m: json.loads((tmp_path / m / "summary.json").read_text()) for m in ("static", "ground-truth")}
    from stfbench.hashing import sha256_file

    names = set(summaries["static"]["metric_settings"])
    assert names == {f"csim[arcface_r100@{sha256_file(backbone)[:8]}]", "cpbd[crop,gray]"}
    assert summaries["static"]["metrics"]["csim"]["mean"] == pytest.approx(1.0, abs=1e-5)
    assert summaries["ground-truth"]["metrics"]["csim"]["mean"] < 0.9999  # its frames move away from the reference
    assert 0 < summaries["ground-truth"]["metrics"]["cpbd"]["mean"] < 1
    assert summaries["ground-truth"]["metrics"]["csim"]["ci95"] is not None
    done = stfbench_script("leaderboard", str(tmp_path / "static"), str(tmp_path / "ground-truth"))
    assert done.returncode == 0, done.stderr
    assert "CSIM↑" in done.stdout and "CPBD↑" in done.stdout


def test_the_released_iresnet100_layout_loads(tmp_path):
    """ms1mv3_arcface_r100_fp16's depth: 65.2 M parameters, (3, 13, 30, 3) blocks read from the keys; a file
    saved without the BatchNorm step counters loads too."""
    state = {k: v.half() for k, v in IResNet((3, 13, 30, 3)).state_dict().items() if "num_batches" not in k}
    torch.save(state, tmp_path / "backbone.pth")
    model = load_arcface(tmp_path / "backbone.pth")
    assert model.blocks == (3, 13, 30, 3)
    assert sum(p.numel() for p in model.parameters()) == 65_156_160
