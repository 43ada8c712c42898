"""Wav2Lip: the public state-dict layout (with and without `module.`), TorchScript files, broken copies,
and the adapter's inference path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stfbench.adapters.base import GenerationRequest
from stfbench.adapters.wav2lip import Wav2Lip, Wav2LipAdapter, inference_mel_windows, load_wav2lip
from stfbench.adapters.wav2lip.checkpoint import save_inference_checkpoint
from stfbench.errors import TooShortError, WeightsError


def test_public_layout_parameter_count_and_keys() -> None:
    model = Wav2Lip()
    state = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == 36_298_035
    assert len(state) == 352
    assert state["face_encoder_blocks.0.0.conv_block.0.weight"].shape == (16, 6, 7, 7)
    assert state["face_decoder_blocks.1.0.conv_block.0.weight"].shape == (1024, 512, 3, 3)  # ConvTranspose (in, out)
    assert {k.split(".")[0] for k in state} == {
        "face_encoder_blocks",
        "audio_encoder",
        "face_decoder_blocks",
        "output_block",
    }
    assert "audio_encoder.12.conv_block.1.running_var" in state and "output_block.1.weight" in state


def test_forward_shapes_and_range() -> None:
    model = Wav2Lip(0.125).eval()
    with torch.no_grad():
        sequence = model(torch.randn(2, 3, 1, 80, 16), torch.rand(2, 6, 3, 96, 96))
        single = model(torch.randn(4, 1, 80, 16), torch.rand(4, 6, 96, 96))
    assert sequence.shape == (2, 3, 3, 96, 96) and single.shape == (4, 3, 96, 96)
    assert float(sequence.min()) >= 0 and float(sequence.max()) <= 1


def _legacy_checkpoint(model: Wav2Lip, path: Path, prefix: str) -> Path:
    """The layout of the public wav2lip.pth: a training checkpoint dict, keys optionally `module.`-prefixed."""
    state = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "optimizer": {"state": {}}, "global_step": 1, "global_epoch": 0}, path)
    return path


@pytest.mark.parametrize("prefix", ["", "module."])
def test_loads_public_layout_full_width(tmp_path: Path, prefix: str) -> None:
    torch.manual_seed(0)
    model = Wav2Lip().eval()
    loaded = load_wav2lip(_legacy_checkpoint(model, tmp_path / "wav2lip.pth", prefix))
    assert loaded.format == "state_dict" and loaded.width_mult == 1.0 and loaded.channel_order == "bgr"
    audio, face = torch.randn(1, 1, 80, 16), torch.rand(1, 6, 96, 96)
    with torch.no_grad():
        assert torch.equal(loaded.model(audio, face), model(audio, face))


def test_bare_state_dict_and_inference_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = Wav2Lip(0.25).eval()
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, tmp_path / "bare.pth")
    bare = load_wav2lip(tmp_path / "bare.pth")
    assert bare.width_mult == 0.25 and bare.known_id is None
    small = load_wav2lip(save_inference_checkpoint(model, tmp_path / "small.pt"))
    assert small.channel_order == "rgb" and (tmp_path / "small.pt").stat().st_size < 4_800_000
    audio, face = torch.randn(2, 1, 80, 16), torch.rand(2, 6, 96, 96)
    with torch.no_grad():
        assert torch.allclose(small.model(audio, face), model(audio, face), atol=5e-3)  # fp16 weights


def test_torchscript_file_is_detected_and_runs(tmp_path: Path) -> None:
    model = Wav2Lip(0.125).eval()
    example = (torch.randn(1, 1, 80, 16), torch.rand(1, 6, 96, 96))
    torch.jit.trace(model, example).save(str(tmp_path / "Wav2Lip-SD-NOGAN.pt"))
    loaded = load_wav2lip(tmp_path / "Wav2Lip-SD-NOGAN.pt")
    assert loaded.format == "torchscript" and isinstance(loaded.model, Wav2Lip)  # tensors read, archive not run
    with torch.no_grad():
        assert torch.allclose(loaded.model(*example), model(*example), atol=1e-6)


def test_torchscript_that_does_not_fit_runs_only_when_vouched_for(tmp_path: Path) -> None:
    class Other(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(2.0))

        def forward(self, audio: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
            return face[:, :3] * self.scale

    path = tmp_path / "other.pt"
    torch.jit.script(Other()).save(str(path))
    with pytest.raises(WeightsError, match=r"do not fit Wav2Lip .*--allow-pickle") as caught:
        load_wav2lip(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    loaded = load_wav2lip(path, allow_pickle=path)  # the user vouches for this file: run as a program
    assert loaded.format == "torchscript-program"
    face = torch.rand(1, 6, 96, 96)
    assert torch.equal(loaded.model(torch.zeros(1, 1, 80, 16), face), face[:, :3] * 2)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 435807851\n", "Git LFS pointer"),
        (b"<!DOCTYPE html><html><body>Sign in to OneDrive</body></html>" + b" " * 2000, "HTML page"),
        (b"\x00" * 1_835_008, "truncated"),
        (b"tiny", "only 4 bytes"),
    ],
)
def test_broken_copies_fail_with_one_line(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "wav2lip.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=match) as caught:
        load_wav2lip(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_truncated_zip_and_wrong_network(tmp_path: Path) -> None:
    good = save_inference_checkpoint(Wav2Lip(0.125), tmp_path / "w.pt")
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:20000])
    with pytest.raises(WeightsError, match="corrupt or truncated"):
        load_wav2lip(tmp_path / "cut.pt")
    torch.save({"state_dict": {"face_encoder.0.conv_block.0.weight": torch.zeros(32, 15, 7, 7)}}, tmp_path / "sync.pth")
    with pytest.raises(WeightsError, match="not a Wav2Lip generator"):
        load_wav2lip(tmp_path / "sync.pth")
    with pytest.raises(WeightsError, match="not found"):
        load_wav2lip(tmp_path / "missing.pth")


def test_inference_mel_windows() -> None:
    mel = np.tile(np.arange(40, dtype=np.float32), (80, 1))  # column index as value
    windows = inference_mel_windows(mel, 12, 25.0)
    assert windows.shape == (12, 80, 16)
    assert [int(w[0, 0]) for w in windows[:4]] == [0, 3, 6, 9]  # int(3.2 · t)
    assert int(windows[-1][0, 0]) == 40 - 16  # clamped to the last full window, as upstream inference
    with pytest.raises(TooShortError):
        inference_mel_windows(mel[:, :10], 2, 25.0)


def test_adapter_generates_crops_in_protocol_space(tmp_path: Path) -> None:
    class Protocol:
        dataset = "synthetic"

    torch.manual_seed(2)
    path = save_inference_checkpoint(Wav2Lip(0.125), tmp_path / "w.pt")
    adapter = Wav2LipAdapter(checkpoint=str(path), batch_size=4)
    adapter.prepare(Protocol(), torch.device("cpu"))
    rng = np.random.default_rng(0)
    target = rng.integers(0, 256, (7, 128, 128, 3), dtype=np.uint8)
    request = GenerationRequest(
        "a", target, target[[0] * 7], np.zeros(7 * 640, np.float32), np.zeros((80, 36), np.float32)
    )
    out = adapter.generate(request)
    assert out.shape == (7, 128, 128, 3) and out.dtype == np.uint8
    assert adapter.provenance()["checkpoint_sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
