"""`stfbench audit`: variant encoders (PyAV), the exact one-frame audio shift, shifts from the lossless reference
with bootstrap CIs through the shared engine, failure accounting, and the CLI via the console script."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from stfbench.errors import StfbenchError
from stfbench.media import variants as V
from stfbench.runner.audit import AuditConfig, run_audit
from stfbench.runner.audit_table import render

FPS, SR = 25.0, 16000


def _clip(frames: int = 20, size: tuple[int, int] = (120, 160)) -> tuple[np.ndarray, np.ndarray]:
    """A moving gradient with noise (codecs must work to keep it) and a chirp of the clip's length."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[: size[0], : size[1]]
    video = np.stack([(x * 3 + y * 2 + 5 * t) % 256 for t in range(frames)])[..., None].repeat(3, axis=-1)
    video = np.clip(video + rng.integers(-8, 9, video.shape), 0, 255).astype(np.uint8)  # (T, H, W, 3)
    seconds = np.arange(round(frames * SR / FPS)) / SR
    audio = (0.4 * np.sin(2 * np.pi * (200 + 300 * seconds) * seconds)).astype(np.float32)  # (N,)
    return video, audio


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def test_video_variants_decode_to_the_same_length_and_size_and_lose_detail() -> None:
    frames, audio = _clip()
    psnr = {}
    for name in ("h264-crf18", "h264-crf28", "h265-crf28", "mpeg4", "resize96"):
        out, kept = V.apply(V.VARIANTS[name], frames, audio, FPS, SR)
        assert out.shape == frames.shape and out.dtype == np.uint8, name
        assert kept is audio, name  # video variants keep the audio samples
        psnr[name] = _psnr(out, frames)
        assert 20 < psnr[name] < math.inf, (name, psnr[name])
    assert psnr["h264-crf18"] > psnr["h264-crf28"]  # a higher CRF loses more


def test_audio_variants_keep_length_and_alignment() -> None:
    frames, audio = _clip(frames=50)
    for name in ("aac64", "mp3-64"):
        kept, out = V.apply(V.VARIANTS[name], frames, audio, FPS, SR)
        assert kept is frames and out.shape == audio.shape and out.dtype == np.float32, name
        lags = np.correlate(out, audio, "full")
        assert np.argmax(lags) - (len(audio) - 1) == 0, name  # the encoder delay is removed
        error = np.mean((out - audio) ** 2) / np.mean(audio**2)
        assert 0 < error < 0.1, (name, error)


def test_audio_shift_is_exactly_one_frame_of_samples() -> None:
    frames, audio = _clip()
    _, later = V.apply(V.VARIANTS["shift+1"], frames, audio, FPS, SR)
    _, earlier = V.apply(V.VARIANTS["shift-1"], frames, audio, FPS, SR)
    assert later.shape == earlier.shape == audio.shape
    np.testing.assert_array_equal(later[:640], 0)
    np.testing.assert_array_equal(later[640:], audio[:-640])
    np.testing.assert_array_equal(earlier[:-640], audio[640:])
    np.testing.assert_array_equal(earlier[-640:], 0)


def test_variant_choice_and_missing_encoders_are_one_line_errors() -> None:
    chosen = V.parse_variants("shift-1,h264-crf18")
    assert [v.name for v in chosen] == ["lossless", "h264-crf18", "shift-1"]  # table order, reference first
    with pytest.raises(StfbenchError, match="unknown h264-crf99"):
        V.parse_variants("h264-crf99")
    missing = dataclasses.replace(V.VARIANTS["h264-crf18"], codec="no-such-encoder")
    with pytest.raises(V.EncoderMissingError, match="no no-such-encoder encoder") as raised:
        V.check_encoder(missing)
    assert raised.value.status == "missing-encoder" and "\n" not in str(raised.value)


class _ConsistentClips:
    """The fake runner clips (tests/fixtures/runner_fakes.py) with crops cut from their source frames, as
    `prepare` cuts them, so the lossless variant equals the ground truth."""

    def __init__(self, fake) -> None:
        self.fake = fake

    def items(self):
        return self.fake.items()

    def load(self, clip_id: str):
        from stfbench.datasets.faces import cut_crops

        prepared = self.fake.load(clip_id)
        prepared.crops = cut_crops(self.fake.source_frames(prepared), prepared.boxes, prepared.crops.shape[1])
        return prepared

    def source_frames(self, prepared):
        return self.fake.source_frames(prepared)


def test_engine_audit_shifts_cis_and_failures(tmp_path: Path) -> None:
    from fixtures.runner_fakes import FakeClips, fake_protocol

    from stfbench.metrics import build_metrics

    clips = _ConsistentClips(FakeClips(count=5, no_face=("spk1/clip03",)))
    protocol = fake_protocol(names=("psnr", "ssim"))
    metrics = build_metrics(["psnr", "ssim"], None, "cpu")
    config = AuditConfig(tmp_path, V.parse_variants("h264-crf28,aac64"), workers=1, show_progress=False)
    summary = run_audit(config, protocol, metrics, clips, clips.items())
    lossless, h264 = summary["results"]["lossless"], summary["results"]["h264-crf28"]
    assert lossless["psnr"]["mean"] == math.inf and lossless["psnr"]["n_finite"] == 0
    assert lossless["ssim"]["mean"] == 1.0
    low, high = h264["psnr"]["ci95"]
    assert low < h264["psnr"]["mean"] < high < math.inf and h264["psnr"]["n"] == 4
    assert summary["results"]["aac64"] == {}  # frames untouched: no paired metric scored
    for name in ("lossless", "h264-crf28", "aac64"):  # the failed clip is counted, never dropped
        counts = summary["counts"][name]
        assert (counts["n_expected"], counts["n_recorded"], counts["n_scored"]) == (5, 5, 4), name
        assert counts["failures"] == {"no-face": 1}, name
    table = render(summary, "markdown").splitlines()
    assert table[0] == "| Variant | PSNR↑ | SSIM↑ | n |"
    assert table[2].startswith("| lossless | ∞ | 1.000 ± 0.000 | 4/5 |") and table[4] == "| aac64 | – | – | 4/5 |"
    assert r"lossless & $\infty$" in render(summary, "latex")
    lines = [json.loads(line) for line in (tmp_path / "clips.jsonl").open()]
    assert len(lines) == 15 and {line["variant"] for line in lines} == {"lossless", "h264-crf28", "aac64"}
    with pytest.raises(StfbenchError, match="already holds an audit"):
        run_audit(config, protocol, metrics, clips, clips.items())


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_cli_on_a_micro_synthetic_protocol(micro_synthetic, tmp_path: Path, stfbench_script) -> None:
    """The console script: lossless LSE shift is exactly 0, a one-frame audio delay moves the AV offset, every
    output exists and is strict JSON; bad input is a one-line exit 2."""
    protocol, root = micro_synthetic
    out = tmp_path / "audit"
    common = ["--dataset", str(protocol), "--root", str(root), "--no-progress", "--workers", "1", "--out", str(out)]
    done = stfbench_script("audit", *common, "--variants", "h264-crf28,shift+1", "--metrics", "psnr,lse",
                           "--limit-clips", "3", "--format", "csv")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("variant,metric,measure,mean,ci95_low,ci95_high,n,n_finite\n")
    summary = _strict((out / "summary.json").read_text())
    for name in ("clips.jsonl", "table.md", "table.tex", "table.csv", "audit.png"):
        assert (out / name).stat().st_size > 0, name
    _strict((out / "table.json").read_text())
    lines = [_strict(line) for line in (out / "clips.jsonl").open()]
    assert len(lines) == 9 and all(line["status"] == "ok" for line in lines)
    shifts = {(line["variant"], line["clip_id"]): line["shift"] for line in lines}
    zero = {"lse_c": 0.0, "lse_d": 0.0, "av_offset": 0.0}
    assert all(shift == zero for (variant, _), shift in shifts.items() if variant == "lossless")
    results = summary["results"]
    assert results["lossless"]["psnr"]["mean"] == "inf" and math.isfinite(results["h264-crf28"]["psnr"]["mean"])
    assert results["shift+1"]["av_offset"]["mean"] < 0  # audio later than the video: a negative offset
    assert summary["measures"] == {"psnr": "value", "lse_c": "shift", "lse_d": "shift", "av_offset": "shift"}
    assert summary["variants"]["h264-crf28"]["options"]["crf"] == "28" and summary["encoders"]["pyav"]
    assert summary["protocol"]["hash"] and summary["weights"]["syncnet_synthetic"]
    for bad, message in ((["--variants", "h264-crf99"], "unknown h264-crf99"), (["--format", "xml"], "--format xml")):
        refused = stfbench_script("audit", *common, "--overwrite", *bad)
        assert refused.returncode == 2 and message in refused.stderr and refused.stderr.count("\n") == 1, bad
