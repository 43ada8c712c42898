"""LSE arithmetic, SyncNet layout and the folded fast path, MFCC."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
from python_speech_features import mfcc

from stfbench.audio import syncnet_mfcc, to_int16_values
from stfbench.errors import StfbenchError, TooShortError, WeightsError
from stfbench.metrics.networks.syncnet import FoldedSyncNet, SyncNet, load_syncnet
from stfbench.metrics.sync import (
    SyncInput,
    clip_embeddings,
    evaluate_sync,
    lip_windows,
    num_windows,
    resize_bgr224,
    stacked_lips,
    sync_distances,
    sync_scores,
)


def _reference_scores(video: torch.Tensor, audio: torch.Tensor, vshift: int):
    """syncnet_python's calc_pdist + evaluate arithmetic, written out row by row."""
    win = 2 * vshift + 1
    padded = torch.nn.functional.pad(audio, (0, 0, vshift, vshift))
    dists = [
        torch.nn.functional.pairwise_distance(video[[i], :].repeat(win, 1), padded[i : i + win])
        for i in range(len(video))
    ]
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    return vshift - int(minidx), float(minval), float(torch.median(mdist) - minval)


@pytest.mark.parametrize("lag", [-7, -2, 0, 3, 15])
def test_known_offset_is_found_with_exact_confidence(lag):
    rng = np.random.default_rng(abs(lag))
    n, dims = 60, 16
    video = torch.from_numpy(rng.normal(size=(n, dims)).astype(np.float32))
    audio = torch.from_numpy(rng.normal(size=(n, dims)).astype(np.float32))
    for j in range(n):  # audio content j belongs to video frame j − lag: the audio lags by `lag` frames
        if 0 <= j - lag < n:
            audio[j] = video[j - lag]
    result = sync_scores(sync_distances(video, audio, 15), 15)
    assert result.av_offset == -lag
    offset, minval, conf = _reference_scores(video, audio, 15)
    assert result.av_offset == offset
    assert result.lse_d == pytest.approx(minval, rel=1e-5)
    assert result.lse_c == pytest.approx(conf, rel=1e-5)
    assert result.mean_dists.shape == (31,) and result.lse_c > 1.0


def test_first_argmin_and_lower_median():
    dists = torch.tensor([[3.0, 1.0, 2.0, 1.0, 5.0]])  # two equal minima: the first one counts
    result = sync_scores(dists, 2)
    assert result.av_offset == 2 - 1
    assert result.lse_d == 1.0
    assert result.lse_c == pytest.approx(2.0 - 1.0)  # torch.median of [1, 1, 2, 3, 5] is 2
    even = sync_scores(torch.tensor([[4.0, 1.0, 2.0, 3.0]]), 2)
    assert even.lse_c == pytest.approx(2.0 - 1.0)  # lower median of 4 values


def test_window_count_follows_syncnet_python():
    assert num_windows(100, 100 * 640) == 95
    assert num_windows(100, 50 * 640 + 639) == 45
    assert num_windows(5, 10 * 640) == 0


def _syncnet_v2_keys() -> set[str]:
    keys = set()
    for tower, convs, bns in (("netcnnaud", (0, 4, 8, 11, 14, 18), (1, 5, 9, 12, 15, 19)),
                              ("netcnnlip", (0, 4, 8, 11, 14, 18), (1, 5, 9, 12, 15, 19))):  # fmt: skip
        keys |= {f"{tower}.{i}.{p}" for i in convs for p in ("weight", "bias")}
        keys |= {f"{tower}.{i}.{p}" for i in bns for p in ("weight", "bias", "running_mean", "running_var")}
    for fc in ("netfcaud", "netfclip"):
        keys |= {f"{fc}.{i}.{p}" for i in (0, 3) for p in ("weight", "bias")}
        keys |= {f"{fc}.1.{p}" for p in ("weight", "bias", "running_mean", "running_var")}
    return keys


def test_syncnet_v2_shaped_state_dict_loads_without_missing_or_unexpected_keys(tmp_path):
    torch.manual_seed(0)
    state = {k: v for k, v in SyncNet(1.0).state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(state) == _syncnet_v2_keys() and len(state) == 88
    params = sum(v.numel() for k, v in state.items() if not k.endswith(("running_mean", "running_var")))
    assert 13.5e6 < params < 13.8e6
    assert state["netcnnlip.0.weight"].shape == (96, 3, 5, 7, 7)
    assert state["netcnnaud.18.weight"].shape == (512, 256, 5, 4)
    path = tmp_path / "syncnet_v2.model"
    torch.save(state, path)
    model = load_syncnet(path)
    assert model.width == 1.0
    torch.save({**state, "extra.weight": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match="unexpected"):
        load_syncnet(path)
    path.write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(WeightsError, match="cannot read"):
        load_syncnet(path)


def _randomised(width: float) -> SyncNet:
    torch.manual_seed(1)
    model = SyncNet(width)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


@pytest.mark.parametrize("width", [0.25, 1.0])
def test_folded_network_equals_reference_layout(width):
    model = _randomised(width)
    folded = FoldedSyncNet(model)
    lips = torch.rand(2, 3, 5, 224, 224) * 255
    mfcc_in = torch.randn(3, 1, 13, 20) * 10
    with torch.no_grad():
        ref_lip, ref_aud = model.forward_lip(lips), model.forward_aud(mfcc_in)
        fast_lip, fast_aud = folded.forward_lip(lips), folded.forward_aud(mfcc_in)
    assert ref_lip.shape == (2, round(1024 * width))
    torch.testing.assert_close(fast_lip, ref_lip, rtol=1e-4, atol=1e-4 * ref_lip.abs().max().item())
    torch.testing.assert_close(fast_aud, ref_aud, rtol=1e-4, atol=1e-4 * ref_aud.abs().max().item())


def test_mfcc_matches_python_speech_features_on_int16_values():
    rng = np.random.default_rng(2)
    audio = (0.3 * rng.normal(size=16000 + 123)).astype(np.float32).clip(-1, 1)
    features = syncnet_mfcc(audio)
    expected = mfcc(to_int16_values(audio).astype(np.int16), 16000).T
    assert features.shape == (13, 1 + math.ceil((len(audio) - 400) / 160))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-3)


def test_fullframe_resize_is_cv2_bilinear_on_uint8_bgr():
    import cv2

    frame = np.random.default_rng(3).integers(0, 256, (1, 160, 160, 3), dtype=np.uint8)
    out = resize_bgr224(frame)
    assert out.dtype == np.uint8 and out.shape == (1, 224, 224, 3)
    np.testing.assert_array_equal(out[0], cv2.resize(frame[0][..., ::-1].copy(), (224, 224)))


def test_evaluate_sync_batches_do_not_change_results_and_short_clip_fails():
    model = FoldedSyncNet(_randomised(0.125))
    rng = np.random.default_rng(4)
    lips = rng.integers(0, 256, (14, 224, 224, 3), dtype=np.uint8)
    audio = (0.1 * rng.normal(size=14 * 640)).astype(np.float32)
    one = evaluate_sync(model, lips, audio, torch.device("cpu"), batch_size=3)
    two = evaluate_sync(model, lips, audio, torch.device("cpu"), batch_size=20)
    assert one.windows == 9
    np.testing.assert_allclose(one.mean_dists, two.mean_dists, rtol=1e-5)
    with pytest.raises(TooShortError):
        evaluate_sync(model, lips[:5], audio, torch.device("cpu"))


def test_batches_built_from_uint8_equal_the_float_stack_and_the_reference_network():
    rng = np.random.default_rng(5)
    lips = rng.integers(0, 256, (12, 224, 224, 3), dtype=np.uint8)
    frames = torch.from_numpy(lips).permute(0, 3, 1, 2).float()  # (T, 3, H, W): the previous construction
    old = torch.stack([frames[2 + t : 6 + t] for t in range(5)], dim=2)  # (4, 3, 5, H, W)
    new = stacked_lips([lip_windows(torch.from_numpy(lips), 2, 6)])  # (4, 15, H, W)
    assert new.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(new, old.flatten(1, 2))
    model = _randomised(0.125)
    clip = SyncInput(torch.from_numpy(lips), torch.randn(13, 60) * 10, 8)
    ((ref_video, ref_audio),) = clip_embeddings(model, [clip], batch_size=3)
    with torch.no_grad():
        direct = model.forward_lip(torch.stack([frames[t : t + 8] for t in range(5)], dim=2))  # (8, E)
    torch.testing.assert_close(ref_video, direct, rtol=1e-5, atol=1e-5 * direct.abs().max().item())
    ((video, audio),) = clip_embeddings(FoldedSyncNet(model), [clip], batch_size=3)
    torch.testing.assert_close(video, ref_video, rtol=1e-5, atol=1e-5 * ref_video.abs().max().item())
    torch.testing.assert_close(audio, ref_audio, rtol=1e-5, atol=1e-5 * ref_audio.abs().max().item())


def test_facecrop_variant_tracks_the_face_and_crops_like_run_pipeline():
    import cv2
    from skimage import data

    from stfbench.errors import NoFaceError
    from stfbench.metrics import ScoringSample
    from stfbench.metrics.facecrop import crop_track, dlib_hog_detector, track_boxes
    from stfbench.metrics.lse import LSE

    photo = cv2.resize(data.astronaut(), (224, 224))
    frames = np.stack([photo] * 5 + [np.full_like(photo, 90)] + [photo])  # one frame without a face
    boxes = track_boxes(frames, dlib_hog_detector(upsample=1))
    assert np.all(np.isfinite(boxes)) and np.allclose(boxes[5], boxes[4])  # the gap is interpolated
    crops = crop_track(frames, boxes)
    x1, y1, x2, y2 = boxes[0]
    s = max(x2 - x1, y2 - y1) / 2
    pad = int(s * 1.8)
    padded = np.pad(frames[0], ((pad, pad), (pad, pad), (0, 0)), constant_values=110)
    cy, cx = (y1 + y2) / 2 + pad, (x1 + x2) / 2 + pad
    expected = cv2.resize(padded[int(cy - s) : int(cy + s * 1.8), int(cx - s * 1.4) : int(cx + s * 1.4)], (224, 224))
    np.testing.assert_array_equal(crops[0], expected)
    with pytest.raises(NoFaceError):
        track_boxes(frames[5:6], dlib_hog_detector())
    metric = LSE(FoldedSyncNet(_randomised(0.125)), "random", torch.device("cpu"), "facecrop",
                 detector=dlib_hog_detector(1), detector_label="dlib-hog")  # fmt: skip
    audio = (0.1 * np.random.default_rng(0).normal(size=7 * 640)).astype(np.float32)
    values = metric.update(ScoringSample("a", frames, audio=audio, pred_frames=frames))
    assert set(values) == {"lse_c", "lse_d", "av_offset"} and metric.name == "lse[facecrop,random]"


def _lse_samples(seed: int, lengths: list[int]) -> list:
    from stfbench.metrics import ScoringSample

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (1, 48, 48, 3))
    samples = []
    for i, length in enumerate(lengths):
        frames = np.clip(base + rng.integers(-40, 41, (length, 48, 48, 3)), 0, 255).astype(np.uint8)
        audio = (0.1 * rng.normal(size=length * 640)).astype(np.float32)
        samples.append(ScoringSample(f"c{i}", frames, pred_frames=frames, audio=audio))
    return samples


def test_clips_batched_together_score_as_each_clip_alone_and_fail_alone():
    from stfbench.errors import NoAudioError
    from stfbench.metrics.lse import LSE

    metric = LSE(FoldedSyncNet(_randomised(0.125)), "random", torch.device("cpu"), batch_size=7)
    samples = _lse_samples(6, [12, 5, 9, 30, 8])  # 5 frames: too short
    samples.insert(2, type(samples[0])("silent", samples[0].pred_crops, pred_frames=samples[0].pred_frames))
    alone = {}
    for sample in samples:
        try:
            alone[sample.clip_id] = metric.score(sample)
        except StfbenchError as error:
            alone[sample.clip_id] = error
    batched = dict(zip([s.clip_id for s in samples], metric.score_many(samples), strict=True))
    assert isinstance(batched["c1"], TooShortError) and isinstance(batched["silent"], NoAudioError)
    for clip_id in ("c0", "c2", "c3", "c4"):
        one, many = alone[clip_id], batched[clip_id]
        assert (many.av_offset, many.windows) == (one.av_offset, one.windows)
        np.testing.assert_allclose(many.mean_dists, one.mean_dists, rtol=1e-5)
    metric.precompute(samples)  # update() takes the precomputed results; statistics move only in update()
    assert metric.clips == 0
    values = {}
    for sample in samples:
        with contextlib.suppress(StfbenchError):  # the too-short and silent clips fail in update() as alone
            values[sample.clip_id] = metric.update(sample)
    assert set(values) == {"c0", "c2", "c3", "c4"} and metric.clips == 4 and not metric.pending
    assert values["c3"]["lse_d"] == pytest.approx(alone["c3"].lse_d, rel=1e-5)


def test_bf16_precision_is_named_and_close_to_fp32():
    from stfbench.metrics.lse import LSE

    net = FoldedSyncNet(_randomised(0.25))
    fp32 = LSE(net, "random", torch.device("cpu"))
    bf16 = LSE(net, "random", torch.device("cpu"), precision="bf16")
    assert fp32.name == "lse[fullframe224,random]" and bf16.name == "lse[fullframe224,random,bf16]"
    assert bf16.settings()["precision"].startswith("bf16")
    with pytest.raises(StfbenchError, match="CUDA"):
        LSE(net, "random", torch.device("cpu"), precision="fp16")
    for sample in _lse_samples(7, [40, 25]):
        exact, reduced = fp32.score(sample), bf16.score(sample)
        np.testing.assert_allclose(reduced.mean_dists, exact.mean_dists, rtol=0.02)
        assert reduced.lse_d == pytest.approx(exact.lse_d, rel=0.02)
        assert abs(reduced.lse_c - exact.lse_c) < 0.05 * exact.lse_d


def test_mean_over_windows_is_accumulated_in_float64():
    """Distances near 1e4 (untrained weights): float32 accumulation depends on the window order; ours does not."""
    rng = np.random.default_rng(5)
    dists64 = 1e4 + rng.normal(0, 30, size=(3000, 31))
    dists = torch.from_numpy(dists64.astype(np.float32))  # what SyncNet yields: float32 distances
    exact = dists.double().numpy()
    exact_curve = np.array([math.fsum(col) / len(col) for col in exact.T])
    order = torch.from_numpy(rng.permutation(len(dists)))
    f32 = dists.mean(dim=0), dists[order].cumsum(dim=0)[-1] / len(dists)  # two float32 accumulation orders
    assert not torch.equal(f32[0], f32[1])  # the case does discriminate float32 from float64 accumulation
    result, shuffled = sync_scores(dists, 15), sync_scores(dists[order], 15)
    np.testing.assert_allclose(result.mean_dists, exact_curve, rtol=1e-12)
    best = int(np.argmin(exact_curve))
    assert result.lse_d == pytest.approx(exact_curve[best], rel=1e-12)
    assert result.lse_c == pytest.approx(np.sort(exact_curve)[15] - exact_curve[best], rel=1e-9, abs=1e-9)
    assert shuffled.lse_c == pytest.approx(result.lse_c, abs=1e-9) and shuffled.lse_d == pytest.approx(
        result.lse_d, abs=1e-9
    )


@pytest.mark.parametrize(("flags", "expected"), [("fpu avx2 avx512f avx512_bf16", True), ("fpu avx2 amx_bf16", True),
                                                  ("fpu avx2 avx512f", False), (None, None)])  # fmt: skip
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, flags: str | None, expected: bool | None) -> None:
    from stfbench.device import cpu_has_native_bf16

    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert cpu_has_native_bf16(cpuinfo) is expected


@pytest.mark.parametrize("native", [True, False, None])
def test_bf16_on_a_cpu_without_native_bf16_advises_fp32(monkeypatch, native: bool | None) -> None:
    import warnings

    from stfbench.metrics import lse

    monkeypatch.setattr(lse, "cpu_has_native_bf16", lambda: native)
    net = FoldedSyncNet(_randomised(0.125))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lse.LSE(net, "random", torch.device("cpu"), precision="bf16")
        lse.LSE(net, "random", torch.device("cpu"))  # fp32 never warns
    advice = [w for w in caught if "without native bfloat16" in str(w.message)]
    assert len(advice) == (1 if native is False else 0)
