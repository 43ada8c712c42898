"""FVD: the safe TorchScript reader, the I3D port loaded from a seeded archive, the streaming Fréchet
statistics (math, merge, bounded state, GT cache) and the CLI without the weight file."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import linalg

from stfbench.errors import TooShortError, WeightsError
from stfbench.metrics import ScoringSample, build_metrics
from stfbench.metrics.fvd import DIMS, FVD, clip_windows
from stfbench.metrics.gt_cache import GTCache
from stfbench.metrics.networks.i3d import I3D, _same_pad, i3d_features, load_i3d
from stfbench.safe_torchscript import read_torchscript_tensors

WIDTH = 1 / 16  # seeded test networks: the real parameter names, 1/16 of the channels
STFBENCH = str(Path(sys.executable).with_name("stfbench"))


def _seeded_i3d(width: float = WIDTH) -> I3D:
    torch.manual_seed(0)
    model = I3D(width).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.Conv3d):  # variance-keeping weights: features that depend on the input
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if isinstance(module, torch.nn.BatchNorm3d):  # non-trivial statistics, so BN loading is exercised
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    return model


class _Holder(torch.nn.Module):
    """The seeded I3D's module tree under a trivial forward: a real TorchScript archive with the full-width
    names and shapes, traced without running the 12.7M-parameter network."""

    def __init__(self, model: I3D) -> None:
        super().__init__()
        for name, child in model.named_children():
            self.add_module(name, child)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


def _jit_save(module: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(module, example).save(str(path))
    return path


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[I3D, Path]:
    model = _seeded_i3d()
    path = tmp_path_factory.mktemp("i3d") / "i3d_seeded.pt"
    return model, _jit_save(model, torch.rand(1, 3, 9, 224, 224) * 2 - 1, path)


def test_reader_round_trip_and_forward_equal(seeded) -> None:
    model, path = seeded
    tensors = read_torchscript_tensors(path)
    assert tensors.keys() == model.state_dict().keys()
    assert all(torch.equal(tensors[k], v) for k, v in model.state_dict().items())
    loaded = load_i3d(path, WIDTH)
    x = torch.rand(2, 3, 9, 224, 224) * 2 - 1
    with torch.no_grad():
        expected, got = model(x), loaded(x)
    assert got.shape == (2, DIMS) and expected.abs().max() > 0.01
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_full_width_layout_reads_back(tmp_path) -> None:
    model = I3D()
    path = _jit_save(_Holder(model), torch.zeros(1), tmp_path / "full.pt")
    tensors = read_torchscript_tensors(path)
    assert {k: tuple(v.shape) for k, v in tensors.items()} == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert tensors["logits.conv3d.bias"].shape == (400,) and tensors["Mixed_5c.b3b.conv3d.weight"].shape[1] == 832


def test_same_padding_gives_tf_output_sizes() -> None:
    """TF "SAME": output ⌈n / s⌉ per axis, the odd padding element at the end."""
    for n in range(1, 12):
        for k in range(1, 8):
            for s in (1, 2):
                x = torch.zeros(1, 1, n, 1, 1)
                x[0, 0, 0] = 1.0  # marks the front: the front pad is ⌊total / 2⌋
                padded = _same_pad(x, (k, 1, 1), (s, 1, 1))
                out = torch.nn.functional.max_pool3d(padded, (k, 1, 1), (s, 1, 1))
                total = max((-(-n // s) - 1) * s + k - n, 0)
                assert out.shape[2] == -(-n // s) and padded[0, 0, total // 2, 0, 0] == 1.0


def _rename_in_archive(src: Path, dst: Path, old: bytes, new: bytes) -> Path:
    """Copy a TorchScript archive with one attribute name changed inside data.pkl (same length)."""
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(dst, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info, data.replace(old, new) if info.filename.endswith("/data.pkl") else data)
    return dst


def test_missing_and_extra_names_refused_in_one_line(seeded, tmp_path) -> None:
    _, path = seeded
    renamed = _rename_in_archive(path, tmp_path / "renamed.pt", b"logits", b"logitz")
    with pytest.raises(WeightsError) as caught:
        load_i3d(renamed, WIDTH)
    message = str(caught.value)
    assert "\n" not in message and "renamed.pt" in message
    assert "missing 2 (e.g. logits.conv3d.weight" in message and "extra 2 (e.g. logitz.conv3d" in message
    with pytest.raises(WeightsError, match="has shape"):  # right names, wrong width
        load_i3d(path, 1 / 8)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_non_tensor_globals_refused_without_running(tmp_path) -> None:
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"weight": _Payload(marker)}, protocol=2))
    with pytest.raises(WeightsError) as caught:
        read_torchscript_tensors(evil)
    assert "system" in str(caught.value) and "refused" in str(caught.value) and "\n" not in str(caught.value)
    assert not marker.exists()
    state = tmp_path / "state.pt"  # a torch.save dict (same zip layout, but no module) is not an I3D archive
    torch.save({"w": torch.zeros(2)}, state)
    with pytest.raises(WeightsError, match="does not hold a module"):
        read_torchscript_tensors(state)
    with pytest.raises(WeightsError, match="not a readable"):
        read_torchscript_tensors(_write(tmp_path / "junk.pt", b"junk"))
    cyclic = tmp_path / "cyclic.pt"  # a __torch__ object holding itself: read without endless recursion
    with zipfile.ZipFile(cyclic, "w") as archive:
        archive.writestr("a/data.pkl", b"\x80\x02c__torch__\nM\nq\x00)\x81q\x01}q\x02X\x02\x00\x00\x00meq\x03h\x01sb.")
    assert read_torchscript_tensors(cyclic) == {}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_windows() -> None:
    frames = np.arange(40)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    windows = clip_windows(frames, 16, 16)
    assert windows.shape == (2, 16, 2, 2, 3) and windows[1, 0, 0, 0, 0] == 16
    assert clip_windows(frames, 16, 8).shape[0] == 4
    with pytest.raises(TooShortError, match="at least 16 frames"):
        clip_windows(frames[:15], 16, 16)


class _Recorder:
    """Random 400-d features per window (seeded), remembering every row handed out."""

    def __init__(self, seed: int) -> None:
        self.rng, self.rows, self.calls = np.random.default_rng(seed), [], 0

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        self.calls += 1
        rows = self.rng.standard_normal((len(windows), DIMS)) + windows.mean()
        self.rows.append(rows)
        return rows


def _clips(n: int, frames: int = 32, seed: int = 0) -> list[ScoringSample]:
    rng = np.random.default_rng(seed)
    crops = rng.integers(0, 256, (n, 2, frames, 4, 4, 3), dtype=np.uint8)
    return [ScoringSample(f"c{i}", crops[i, 0], crops[i, 1]) for i in range(n)]


def test_frechet_equals_direct_numpy() -> None:
    features = _Recorder(0)
    metric = FVD(features)
    for sample in _clips(250):  # 2 windows each: 500 per side, above the 400 feature dimensions
        metric.update(sample)
    value = metric.compute()["fvd"]
    pred, gt = np.concatenate(features.rows[0::2]), np.concatenate(features.rows[1::2])
    mu1, mu2 = pred.mean(0), gt.mean(0)
    s1, s2 = np.cov(pred, rowvar=False), np.cov(gt, rowvar=False)
    direct = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    assert value > 1 and value == pytest.approx(direct, rel=1e-8)
    assert metric.settings()["n_pred"] == metric.settings()["n_gt"] == 500


def _content_features(windows: np.ndarray) -> np.ndarray:
    """Features that depend only on each window's pixels (the same in a whole run and in shards)."""
    return np.stack([np.random.default_rng(int(w.sum())).standard_normal(DIMS) for w in windows])


def test_merge_of_shards_equals_whole_and_state_is_bounded() -> None:
    samples = _clips(12, frames=16)
    whole, first, second = FVD(_content_features), FVD(_content_features), FVD(_content_features)
    for sample in samples:
        whole.update(sample)
    for i, sample in enumerate(samples):
        (first if i < 5 else second).update(sample)
    first.merge(second.state_dict())
    restored = FVD(_content_features)
    restored.merge(whole.state_dict())
    for metric in (first, restored):  # compute() is a function of these sums alone
        for side in ("pred", "gt"):
            (n, total, outer), (n0, total0, outer0) = getattr(metric, side).sums(), getattr(whole, side).sums()
            assert n == n0 == 12 and np.array_equal(total, total0) and np.array_equal(outer, outer0)

    def state_bytes(metric: FVD) -> int:
        return sum(a.nbytes for side in metric.state_dict().values() for a in side.values())

    big = FVD(_Recorder(3))
    sizes = []
    for count, sample in enumerate(_clips(600, frames=16), 1):
        big.update(sample)
        if count in (300, 600):
            sizes.append(state_bytes(big))
    bound = 2 * (DIMS * DIMS + DIMS + 1 + 256 * DIMS) * 8  # folded sums + fewer than 256 pending rows per side
    assert big.pred.n == 600 and all(size <= bound for size in sizes)


def test_gt_side_read_from_the_cache(tmp_path) -> None:
    features = _Recorder(4)
    metric = FVD(features, identity={"i3d": "seeded"})
    assert metric.use_gt_cache(GTCache(tmp_path)) is not None
    (sample,) = _clips(1)
    metric.update(sample)
    metric.update(sample)
    assert features.calls == 3  # pred, gt, pred: the second ground-truth pass came from the cache
    np.testing.assert_array_equal(metric.gt.to_arrays()["pending"][:2], metric.gt.to_arrays()["pending"][2:])


def test_seeded_network_through_the_metric(seeded) -> None:
    model, _ = seeded
    metric = FVD(lambda w: i3d_features(model, w, torch.device("cpu"), batch_size=2), frames=9, stride=9)
    assert metric.name == "fvd[i3d400,9f,stride9,224]"
    frames = np.random.default_rng(5).integers(0, 256, (2, 9, 48, 48, 3), dtype=np.uint8)
    brighter = np.clip(frames.astype(np.int16) + 60, 0, 255).astype(np.uint8)
    for clip in frames:
        metric.update(ScoringSample("a", clip, clip))
    assert np.array_equal(metric.pred.sums()[2], metric.gt.sums()[2])  # identical clips: identical statistics
    metric.reset()
    for clip, changed in zip(frames, brighter, strict=True):
        metric.update(ScoringSample("a", changed, clip))
    with pytest.warns(UserWarning, match="FVD generated: 2 samples < 400"):
        assert metric.compute()["fvd"] > 0.1


def test_registry_verifies_and_labels_the_file(tmp_path, monkeypatch) -> None:
    path = _jit_save(_Holder(_seeded_i3d(1.0)), torch.zeros(1), tmp_path / "i3d_torchscript.pt")
    monkeypatch.setenv("STFBENCH_WEIGHT_I3D_TORCHSCRIPT", str(path))
    with pytest.raises(WeightsError, match="refusing"):
        build_metrics("fvd", None, "cpu")
    (fvd,) = build_metrics("fvd", None, "cpu", trust_unverified=True)
    assert fvd.name == "fvd[i3d400,16f,stride16,224]-unverified"
    assert fvd.settings()["weights"]["verified"] is False


def test_cli_without_the_weight_file(tmp_path) -> None:
    from PIL import Image

    for side in ("pred", "gt"):
        (tmp_path / side).mkdir()
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / side / "0.png")
    env = {**os.environ, "STFBENCH_WEIGHTS": str(tmp_path / "none"), "TORCH_HOME": str(tmp_path / "torch")}
    env.pop("STFBENCH_WEIGHT_I3D_TORCHSCRIPT", None)
    args = ["score", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "fvd"]
    result = subprocess.run([STFBENCH, *args, "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (row,) = [line for line in result.stderr.splitlines() if "i3d_torchscript.pt" in line]
    assert "not found" in row and "stfbench weights import" in row


def test_leaderboard_column_lower_is_better(tmp_path) -> None:
    import json

    from stfbench.leaderboard import build_leaderboard, render

    protocol = {"id": "lrs2", "hash": "b" * 64, "dataset": "lrs2", "lse_variant": "fullframe224", "version": "1"}
    runs = []
    for label, fvd, fid in (("a", 120.5, 10.0), ("b", 80.25, 12.0)):
        run = tmp_path / label
        run.mkdir()
        metrics = {k: {"mean": v, "ci95": None, "n": 10, "n_finite": 10} for k, v in (("fvd", fvd), ("fid", fid))}
        summary = {
            "protocol": protocol,
            "model": {"label": label, "is_control": False, "uses_ground_truth_video": False},
            "metrics": metrics,
            "n_scored": 10,
        }
        (run / "summary.json").write_text(json.dumps({**summary, "n_expected": 10, "failures": {}}))
        runs.append(run)
    payload = json.loads(render(build_leaderboard(runs), "json"))
    (column,) = [c for c in payload["protocols"][0]["columns"] if c["key"] == "fvd"]
    assert column["direction"] == "↓" and [c["key"] for c in payload["protocols"][0]["columns"]] == ["fid", "fvd"]
    assert payload["rows"][1]["values"]["lrs2"]["fvd"]["best"] is True
