"""SyncTalkFace architecture, Audio-Lip Memory math, losses, the colour SyncNet expert and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stfbench.errors import StfbenchError, TooShortError, WeightsError
from stfbench.reference_model.blocks import bilinear_taps
from stfbench.reference_model.config import LossConfig, expert_preset, model_preset
from stfbench.reference_model.data import TrainingClip
from stfbench.reference_model.discriminator import QualityDiscriminator
from stfbench.reference_model.generator import SyncTalkFace, count_parameters
from stfbench.reference_model.inference import generate_crops
from stfbench.reference_model.losses import vv_sync_loss
from stfbench.reference_model.memory import AudioLipMemory, address, align_loss
from stfbench.reference_model.recipes import SyncTalkFaceTask, load_expert
from stfbench.reference_model.syncnet import ColorSyncNet, load_wav2lip_expert


def _inputs(size: int, n: int = 2, lip: bool = True):
    torch.manual_seed(0)
    args = [torch.randn(n, 1, 80, 16), torch.rand(n, 3, size, size) * 2 - 1, torch.rand(n, 3, size, size) * 2 - 1]
    if lip:
        args.append(torch.rand(n, 3, 5, size, size) * 2 - 1)
    return args


def test_paper_preset_parameter_count_matches_released_code():
    model = SyncTalkFace(model_preset("paper"))
    counts = {name: count_parameters(getattr(model, name)) for name in ("lip_encoder", "memory", "decoder")}
    # Enumerated from the released code (research notes §1.2): lip 10.04 M, memory 1.15 M, decoder 28.98 M.
    assert abs(counts["lip_encoder"] / 1e6 - 10.04) < 0.01
    assert abs(counts["memory"] / 1e6 - 1.15) < 0.01
    assert abs(counts["decoder"] / 1e6 - 28.98) < 0.01
    assert abs(count_parameters(model) / 1e6 - 53.0) < 0.05


def test_tiny_preset_is_small_and_runs_at_96():
    model = SyncTalkFace(model_preset("tiny"))
    assert 1.0e6 < count_parameters(model) <= 3.0e6
    out = model(*_inputs(96))
    assert out.key_frames.shape == (2, 3, 96, 96) and out.value_frames.shape == (2, 3, 96, 96)
    assert out.key_address.shape == (2, 96) and out.lip_feature.shape == (2, 128)
    assert out.key_frames.abs().max() <= 1  # Tanh


@pytest.mark.parametrize("slots", [0, 1, 24])
def test_any_slot_count_including_memory_off(slots):
    model = SyncTalkFace(model_preset("micro", slots=slots))
    out = model(*_inputs(64))
    assert out.key_frames.shape == (2, 3, 64, 64)
    if slots == 0:
        assert model.memory is None and out.value_frames is None and out.store_loss is None
    else:
        assert out.key_address.shape == (2, slots) and out.value_frames is not None


def test_address_is_softmax_of_kappa_times_cosine():
    query = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    slots = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    got = address(query, slots, kappa=16.0)
    c = 1 / math.sqrt(2)
    cosines = torch.tensor([[1.0, 0.0, -1.0], [c, c, -c]])
    expected = torch.exp(16 * cosines) / torch.exp(16 * cosines).sum(1, keepdim=True)
    torch.testing.assert_close(got, expected)
    assert got[1, 0] == pytest.approx(got[1, 1].item())


def test_align_loss_is_kl_of_value_to_key_address():
    value = torch.tensor([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    key = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    expected = (value * (value.log() - key.log())).sum(1).mean()
    assert align_loss(value, key).item() == pytest.approx(expected.item(), rel=1e-5)
    assert align_loss(value, value).item() == pytest.approx(0.0, abs=1e-6)


def test_store_loss_and_recall_by_hand():
    memory = AudioLipMemory(slots=3, dim=2, kappa=16.0, dropout=0.0)
    with torch.no_grad():
        memory.value.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
        memory.v_embd.weight.copy_(torch.eye(2))
        memory.v_embd.bias.zero_()
    lip = torch.tensor([[3.0, 0.0]])
    out = memory(torch.zeros(1, 2), lip)
    a = address(lip, memory.value, 16.0)
    recalled = a @ memory.value
    assert out.store_loss.item() == pytest.approx(F.mse_loss(recalled, lip).item(), rel=1e-5)
    paper = memory(torch.zeros(1, 2), lip, store_target="raw")
    assert paper.store_loss.item() == pytest.approx(out.store_loss.item(), rel=1e-5)  # v_embd = identity here
    one_hot = torch.tensor([[0.0, 1.0, 0.0]])
    torch.testing.assert_close(memory.recall(one_hot), torch.tensor([[0.0, 1.0]]))


def test_batch_address_norm_centres_queries_that_share_one_direction():
    common = torch.tensor([10.0, 0.0])
    audio = common + torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # (4, 2): one cone
    slots = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    top = {}
    for norm in ("none", "batch"):
        memory = AudioLipMemory(slots=4, dim=2, kappa=16.0, dropout=0.0, address_norm=norm).train()
        with torch.no_grad():
            memory.key.copy_(slots)
            memory.q_embd.weight.copy_(torch.eye(2))
            memory.q_embd.bias.zero_()
        top[norm] = memory.key_address(audio).argmax(1).tolist()
    assert len(set(top["none"])) == 1  # every query nearest to the same slot
    assert top["batch"] == [0, 1, 2, 3]  # centred: each query finds its own direction


def test_gradient_reaches_both_memories():
    model = SyncTalkFace(model_preset("micro"))
    out = model(*_inputs(64))
    (out.key_frames.mean() + out.value_frames.mean() + out.store_loss + out.align_loss).backward()
    assert model.memory.key.grad is not None and model.memory.key.grad.abs().sum() > 0
    assert model.memory.value.grad is not None and model.memory.value.grad.abs().sum() > 0


def test_paper_training_path_feeds_raw_lip_feature():
    torch.manual_seed(0)
    model = SyncTalkFace(model_preset("micro", train_lip_source="raw", fusion_dropout=0.0)).eval()
    mel, target, reference, lip = _inputs(64)
    out = model(mel, target, reference, lip)
    skips = model.identity_encoder(model.identity_input(target, reference))
    fused = model.memory.fuse(model.audio_encoder(mel), out.lip_feature)
    torch.testing.assert_close(out.value_frames, model.decoder(fused, skips))


@pytest.mark.parametrize("lip_source", ["value-recalled", "raw"])
def test_dropping_audio_from_the_training_path_leaves_only_the_lip_feature(lip_source):
    torch.manual_seed(0)
    config = model_preset("micro", train_path_audio="drop", train_lip_source=lip_source)
    model = SyncTalkFace(config).eval()
    mel, target, reference, lip = _inputs(64)
    out = model(mel, target, reference, lip)
    other = model(torch.randn_like(mel), target, reference, lip)
    torch.testing.assert_close(out.value_frames, other.value_frames)  # Î_G does not see the audio
    assert not torch.equal(out.key_frames, other.key_frames)  # Î_g (inference path) does
    keep = SyncTalkFace(model_preset("micro", train_lip_source=lip_source)).eval()
    keep.load_state_dict(model.state_dict())
    assert not torch.equal(keep(mel, target, reference, lip).value_frames, out.value_frames)


def test_one_hot_decoding_equals_recalling_that_slot():
    torch.manual_seed(0)
    model = SyncTalkFace(model_preset("micro", fusion_dropout=0.0)).eval()
    mel, target, reference = _inputs(64, n=1, lip=False)
    slot = 3
    one_hot = F.one_hot(torch.tensor([slot]), model.config.slots).float()
    frames = model.decode_address(one_hot, mel, target, reference)
    skips = model.identity_encoder(model.identity_input(target, reference))
    by_hand = model.decoder(model.memory.fuse(model.audio_encoder(mel), model.memory.value[slot : slot + 1]), skips)
    torch.testing.assert_close(frames, by_hand)
    other = model.decode_address(F.one_hot(torch.tensor([0]), model.config.slots).float(), mel, target, reference)
    assert not torch.equal(frames, other)


def test_vv_loss_moves_generated_frames_not_lip_encoder():
    model = SyncTalkFace(model_preset("micro"))
    generated = (torch.rand(2, 5, 3, 64, 64) * 2 - 1).requires_grad_(True)
    loss = vv_sync_loss(model.lip_encoder, generated, torch.randn(2, 32))
    loss.backward()
    assert generated.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.lip_encoder.parameters())


def test_discriminator_sees_only_the_lower_half():
    disc = QualityDiscriminator(model_preset("micro"))
    frames = torch.rand(2, 3, 64, 64)
    changed = frames.clone()
    changed[:, :, :32] = 0
    torch.testing.assert_close(disc(frames), disc(changed))
    assert disc(frames).shape == (2,)


def test_expert_layouts_have_released_sizes():
    assert abs(count_parameters(ColorSyncNet(expert_preset("wav2lip"))) / 1e6 - 16.44) < 0.01
    assert abs(count_parameters(ColorSyncNet(expert_preset("paper"))) / 1e6 - 22.99) < 0.01


def _fake_wav2lip_expert(path, prefix="module."):
    torch.manual_seed(1)
    source = ColorSyncNet(expert_preset("wav2lip"))
    state = {prefix + k: v for k, v in source.state_dict().items()}
    torch.save({"state_dict": state, "global_step": 1}, path)
    return source


def test_colour_syncnet_loads_wav2lip_layout(tmp_path):
    path = tmp_path / "lipsync_expert.pth"
    source = _fake_wav2lip_expert(path)
    expert = load_wav2lip_expert(path, verify_sha256=False)
    assert expert.config.channel_order == "bgr"
    for key, value in source.state_dict().items():
        torch.testing.assert_close(expert.state_dict()[key], value)
    assert all(not p.requires_grad for p in expert.parameters())
    # RGB input is flipped to BGR inside: feeding BGR to a copy marked rgb gives the same embedding.
    faces = torch.rand(1, 15, 48, 96)
    mel = torch.randn(1, 1, 80, 16)
    rgb_copy = ColorSyncNet(expert_preset("wav2lip")).eval()
    rgb_copy.load_state_dict(expert.state_dict())
    bgr = faces.view(1, 5, 3, 48, 96).flip(2).reshape(1, 15, 48, 96)
    torch.testing.assert_close(expert(mel, faces)[1], rgb_copy(mel, bgr)[1])
    via_recipe, _ = load_expert(path, 96)
    torch.testing.assert_close(
        via_recipe.state_dict()["face_encoder.0.conv_block.0.weight"], source.face_encoder[0].conv_block[0].weight
    )


def test_wav2lip_expert_with_wrong_hash_or_layout_is_refused(tmp_path):
    path = tmp_path / "lipsync_expert.pth"
    _fake_wav2lip_expert(path)
    with pytest.raises(WeightsError, match="SHA-256"):
        load_wav2lip_expert(path)
    bad = tmp_path / "other.pth"
    torch.save({"state_dict": {"face_encoder.0.conv_block.0.weight": torch.zeros(1)}}, bad)
    with pytest.raises(WeightsError, match="layout"):
        load_wav2lip_expert(bad, verify_sha256=False)
    with pytest.raises(WeightsError, match="not found"):
        load_wav2lip_expert(tmp_path / "missing.pth")


@pytest.mark.parametrize(("kernel", "stride", "taps"), [(3, 2, [0.5, 1, 0.5]), (4, 2, [0.25, 0.75, 0.75, 0.25])])
def test_bilinear_taps_are_linear_interpolation(kernel, stride, taps):
    assert bilinear_taps(kernel, stride).tolist() == taps


def test_bilinear_upsample_init_gives_every_output_phase_the_same_weight():
    """A constant input through each stride-2 transposed conv (bias off) gives the same value at all four
    output phases in the interior with `upsample_init="bilinear"`, and a 1-2-2-4 tap pattern (checkerboard)
    with torch's init, which stays the default so the released recipe's weights are unchanged."""
    torch.manual_seed(0)
    default = SyncTalkFace(model_preset("micro"))
    torch.manual_seed(0)
    bilinear = SyncTalkFace(model_preset("micro", upsample_init="bilinear"))
    layers = [
        (name, d, b)
        for (name, d), b in zip(default.named_modules(), bilinear.modules(), strict=True)
        if isinstance(d, torch.nn.ConvTranspose2d) and d.stride == (2, 2)
    ]
    assert len(layers) == len(model_preset("micro").decoder_channels) - 2
    bilinear_state = bilinear.state_dict()
    changed = {key for key, value in default.state_dict().items() if not torch.equal(value, bilinear_state[key])}
    assert changed == {f"{name}.weight" for name, _, _ in layers}  # nothing else moves, not even the RNG stream
    for _, d, b in layers:
        mix = b.weight.sum(dim=(2, 3)) / bilinear_taps(3, 2).sum() ** 2  # m = default's kernel sum
        assert torch.allclose(mix.float(), d.weight.sum(dim=(2, 3)), atol=1e-6)
        x = torch.ones(1, d.in_channels, 4, 4)
        for layer, even in ((b, True), (d, False)):
            out = F.conv_transpose2d(x, layer.weight, None, 2, 1, 1)[0, :, 2:6, 2:6]  # (C_out, 4, 4) interior
            phases = torch.stack([out[:, i::2, j::2] for i in (0, 1) for j in (0, 1)])  # (4, C_out, 2, 2)
            assert torch.allclose(phases, phases[:1].expand_as(phases), atol=1e-5) is even


def test_wrong_mel_shape_is_a_clear_error():
    model = SyncTalkFace(model_preset("micro"))
    _, target, reference = _inputs(64, lip=False)
    with pytest.raises(StfbenchError, match=r"\(N, 1, 80, 16\)"):
        model(torch.randn(2, 1, 80, 12), target, reference)
    with pytest.raises(StfbenchError, match="64×64"):
        model(torch.randn(2, 1, 80, 16), torch.rand(2, 3, 96, 96), torch.rand(2, 3, 96, 96))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"slots": -1}, "--slots -1"),
        ({"fusion_dropout": 1.0}, "fusion_dropout"),
        ({"memory_init": "kmeans"}, "memory_init"),
        ({"upsample_init": "icnr"}, "upsample_init"),
        ({"address_norm": "layer"}, "address_norm"),
        ({"train_path_audio": "zero"}, "train_path_audio"),
    ],
)
def test_invalid_model_settings_are_refused(override, message):
    with pytest.raises(StfbenchError, match=message):
        model_preset("micro", **override)


def test_invalid_vv_branch_is_refused():
    with pytest.raises(StfbenchError, match="vv_gt_branch"):
        LossConfig(vv_gt_branch="frozen")


def test_audio_shorter_than_five_frames_is_too_short():
    model = SyncTalkFace(model_preset("micro")).eval()
    crops = np.zeros((4, 64, 64, 3), np.uint8)
    with pytest.raises(TooShortError, match="at least 5"):
        generate_crops(model, crops, crops, np.zeros((80, 20), np.float32))
    with pytest.raises(StfbenchError, match=r"\(80, T_mel\)"):
        generate_crops(
            model, np.zeros((6, 64, 64, 3), np.uint8), np.zeros((6, 64, 64, 3), np.uint8), np.zeros((40, 20))
        )


def test_av_loss_without_expert_is_refused_with_instructions():
    rng = np.random.default_rng(0)
    clip = TrainingClip("c", rng.integers(0, 255, (12, 64, 64, 3), np.uint8), np.zeros((12, 80, 16), np.float32),
                        np.zeros((12, 80, 16), np.float32))  # fmt: skip
    with pytest.raises(WeightsError, match="train-expert --kind color-syncnet"):
        SyncTalkFaceTask(model_preset("micro"), LossConfig(), [clip])
    with pytest.raises(WeightsError, match="--av-weight 0"):
        load_expert(None, 64)
    SyncTalkFaceTask(model_preset("micro"), LossConfig(av_sync=0.0), [clip])  # allowed with the loss off
