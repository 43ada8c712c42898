"""SyncTalkFace against the authors' released code (commit 9d5d08d): layer sequences, key layout, BGR, losses.

The expected layers below are written from the released `models/wav2lip.py`, `models/conv.py` and
`models/memory.py` (read for facts), not from our modules, so a deviation in kernel, stride, padding or
activation fails here even where parameter counts agree (a ReLU has no parameters).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stfbench.errors import WeightsError
from stfbench.reference_model.blocks import ConvBlock, ConvTransposeBlock, NoNormConvBlock
from stfbench.reference_model.config import model_preset
from stfbench.reference_model.discriminator import QualityDiscriminator
from stfbench.reference_model.encoders import SqueezeTime
from stfbench.reference_model.generator import SyncTalkFace
from stfbench.reference_model.losses import gan_discriminator_loss, gan_generator_loss
from stfbench.reference_model.released import (
    discriminator_state_from_released,
    generator_state_from_released,
    load_strict,
)

# ---- the released layout, one entry per layer: (released key prefix, kind, cin, cout, kernel, stride, padding)
# kinds: "c" Conv2d+BN+ReLU, "r" the same with the residual add before the ReLU, "t" ConvTranspose2d+BN+ReLU,
# "n" Conv2d+LeakyReLU(0.01) (no norm), "3d" Conv3d alone (no norm, no activation), "sq" squeeze of the time
# axis, "conv" a plain Conv2d, "tanh".


def _res(prefix: str, channels: int) -> tuple:
    return (prefix, "r", channels, channels, 3, 1, 1)


def released_lip_encoder() -> list[tuple]:
    p = "lip_encoder."
    layers = [(p + "0", "3d", 3, 64, (5, 7, 7), 2, (0, 3, 3)), (p + "1", "sq")]
    layers += [(p + "2", "c", 64, 64, 3, 2, 1), _res(p + "3", 64), _res(p + "4", 64), _res(p + "5", 64)]
    layers += [(p + "6", "c", 64, 128, 3, 2, 1), _res(p + "7", 128), _res(p + "8", 128)]
    layers += [(p + "9", "c", 128, 256, 3, 2, 1), _res(p + "10", 256), _res(p + "11", 256)]
    layers += [(p + "12", "c", 256, 512, 3, 2, 1), _res(p + "13", 512)]
    layers += [(p + "14", "c", 512, 512, 4, 1, 0), (p + "15", "c", 512, 512, 1, 1, 0)]
    return layers


def released_face_encoder() -> list[tuple]:
    p = "face_encoder_blocks."
    layers = [(p + "0.0", "c", 6, 16, 7, 1, 3)]
    for i, (cin, cout, res) in enumerate([(16, 32, 2), (32, 64, 3), (64, 128, 2), (128, 256, 2), (256, 512, 1)], 1):
        layers += [(f"{p}{i}.0", "c", cin, cout, 3, 2, 1)] + [_res(f"{p}{i}.{j}", cout) for j in range(1, res + 1)]
    layers += [(p + "6.0", "c", 512, 512, 4, 1, 0), (p + "6.1", "c", 512, 512, 1, 1, 0)]
    return layers


def released_audio_encoder() -> list[tuple]:
    p = "audio_encoder."
    layers, index = [], 0
    for cin, cout, stride, res in [(1, 32, 1, 2), (32, 64, (3, 1), 2), (64, 128, 3, 2), (128, 256, (3, 2), 1)]:
        layers.append((f"{p}{index}", "c", cin, cout, 3, stride, 1))
        layers += [_res(f"{p}{index + j}", cout) for j in range(1, res + 1)]
        index += res + 1
    layers += [(f"{p}{index}", "c", 256, 512, 3, 1, 0), (f"{p}{index + 1}", "c", 512, 512, 1, 1, 0)]
    return layers


def released_decoder() -> list[tuple]:
    p = "face_decoder_blocks."
    layers = [(p + "0.0", "c", 512, 512, 1, 1, 0), (p + "1.0", "t", 1024, 512, 4, 1, 0), _res(p + "1.1", 512)]
    for i, (cin, cout) in enumerate([(1024, 512), (768, 384), (512, 256), (320, 128), (160, 64)], 2):
        layers += [(f"{p}{i}.0", "t", cin, cout, 3, 2, 1), _res(f"{p}{i}.1", cout), _res(f"{p}{i}.2", cout)]
    layers += [("output_block.0", "c", 80, 32, 3, 1, 1), ("output_block.1", "conv", 32, 3, 1, 1, 0)]
    return [*layers, ("output_block.2", "tanh")]


def released_discriminator(final_kernel: int = 4) -> list[tuple]:
    p = "face_encoder_blocks."
    layers = [(p + "0.0", "n", 3, 32, 7, 1, 3)]
    shapes = [(32, 64, 5, (1, 2), 2), (64, 128, 5, 2, 2), (128, 256, 5, 2, 2), (256, 512, 3, 2, 1), (512, 512, 3, 2, 1)]
    for i, (cin, cout, k, s, pad) in enumerate(shapes, 1):
        layers += [(f"{p}{i}.0", "n", cin, cout, k, s, pad), (f"{p}{i}.1", "n", cout, cout, k, 1, pad)]
    layers += [(p + "6.0", "n", 512, 512, final_kernel, 1, 0), (p + "6.1", "n", 512, 512, 1, 1, 0)]
    return [*layers, ("binary_pred.0", "conv", 512, 1, 1, 1, 0)]


# ---- what our modules do, in the same vocabulary


def _pair(value, n: int = 2) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value,) * n


def describe(module: nn.Module) -> list[tuple]:
    """Our layers in forward order as (kind, cin, cout, kernel, stride, padding) — the released vocabulary."""
    if isinstance(module, ConvBlock | ConvTransposeBlock | NoNormConvBlock):
        conv = module.conv_block[0]
        assert len(module.conv_block) == (1 if isinstance(module, NoNormConvBlock) else 2)
        if isinstance(module, NoNormConvBlock):
            assert isinstance(module.act, nn.LeakyReLU) and module.act.negative_slope == 0.01
            kind = "n"
        else:
            assert isinstance(module.conv_block[1], nn.BatchNorm2d) and isinstance(module.act, nn.ReLU)
            kind = "t" if isinstance(module, ConvTransposeBlock) else ("r" if module.residual else "c")
        return [(kind, conv.in_channels, conv.out_channels, *map(_pair, (conv.kernel_size, conv.stride, conv.padding)))]
    if isinstance(module, nn.Conv3d):
        return [("3d", module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding)]
    if isinstance(module, nn.Conv2d):
        return [("conv", module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding)]
    if isinstance(module, SqueezeTime):
        return [("sq",)]
    if isinstance(module, nn.Tanh):
        return [("tanh",)]
    children = list(module.children())
    assert children, f"unexpected leaf {type(module).__name__}"
    return [layer for child in children for layer in describe(child)]


def normalise(released: list[tuple]) -> list[tuple]:
    """Released entries → (kind, cin, cout, kernel, stride, padding) with tuple sizes."""
    out = []
    for _, kind, *rest in released:
        if not rest:
            out.append((kind,))
            continue
        cin, cout, kernel, stride, padding = rest
        n = 3 if kind == "3d" else 2
        out.append((kind, cin, cout, _pair(kernel, n), _pair(stride, n), _pair(padding, n)))
    return out


def test_paper_networks_have_the_released_layer_sequence():
    model = SyncTalkFace(model_preset("paper"))
    assert describe(model.lip_encoder) == normalise(released_lip_encoder())
    assert describe(model.identity_encoder) == normalise(released_face_encoder())
    assert describe(model.audio_encoder) == normalise(released_audio_encoder())
    assert describe(model.decoder) == normalise(released_decoder())
    assert describe(QualityDiscriminator(model_preset("paper"))) == normalise(released_discriminator())
    memory = model.memory
    assert (memory.key.shape, memory.value.shape) == ((96, 512), (96, 512))
    linears = [(m.in_features, m.out_features) for m in (memory.q_embd, memory.v_embd, memory.fusion)]
    assert linears == [(512, 512), (512, 512), (1024, 512)] and memory.dropout.p == 0.5 and memory.kappa == 16.0


def test_lip_encoder_has_no_activation_between_conv3d_and_first_block():
    layers = describe(SyncTalkFace(model_preset("tiny")).lip_encoder)
    assert [layer[0] for layer in layers[:3]] == ["3d", "sq", "c"]
    assert layers[0][4] == (2, 2, 2)  # the released temporal stride


# ---- released key layout → our modules


def _conv_keys(prefix: str, kind: str, cin: int, cout: int, kernel, *_: object) -> dict[str, tuple]:
    n = 3 if kind == "3d" else 2
    k = _pair(kernel, n)
    shape = (cin, cout, *k) if kind == "t" else (cout, cin, *k)
    if kind in ("3d", "conv"):
        return {f"{prefix}.weight": shape, f"{prefix}.bias": (cout,)}
    keys = {f"{prefix}.conv_block.0.weight": shape, f"{prefix}.conv_block.0.bias": (cout,)}
    if kind != "n":
        bn = f"{prefix}.conv_block.1"
        keys |= {f"{bn}.{name}": (cout,) for name in ("weight", "bias", "running_mean", "running_var")}
        keys[f"{bn}.num_batches_tracked"] = ()
    return keys


def released_key_shapes(layers: list[tuple]) -> dict[str, tuple]:
    keys: dict[str, tuple] = {}
    for prefix, kind, *rest in layers:
        if rest:
            keys |= _conv_keys(prefix, kind, *rest)
    return keys


def released_generator_keys() -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(`model_state_dict`, `dec_state_dict`) key → shape for the released 128-px, 96-slot model."""
    model = {"mem.key": (96, 512), "mem.value": (96, 512)}
    for name, (cin, cout) in {"q_embd": (512, 512), "v_embd": (512, 512), "fusion": (1024, 512)}.items():
        model |= {f"mem.{name}.weight": (cout, cin), f"mem.{name}.bias": (cout,)}
    for layers in (released_lip_encoder(), released_face_encoder(), released_audio_encoder()):
        model |= released_key_shapes(layers)
    return model, released_key_shapes(released_decoder())


def _seeded_state(shapes: dict[str, tuple], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod())) if len(shape) > 1 else 16
            state[key] = torch.randn(shape, generator=generator) / fan_in**0.5
    return state


def _bgr(frames: torch.Tensor, dim: int) -> torch.Tensor:
    return frames.flip(dim)


def test_released_generator_state_loads_strictly_and_matches_by_name():
    model_keys, decoder_keys = released_generator_keys()
    released = _seeded_state(model_keys, 1), _seeded_state(decoder_keys, 2)
    loaded = SyncTalkFace(model_preset("paper"))
    load_strict(loaded, generator_state_from_released(*released), "released.pth")  # no missing / unexpected keys
    by_name = SyncTalkFace(model_preset("paper"))  # the same tensors by name, no colour conversion
    prefixes = {
        "mem.": "memory.",
        "lip_encoder.": "lip_encoder.layers.",
        "face_encoder_blocks.": "identity_encoder.stages.",
    }
    prefixes |= {"audio_encoder.": "audio_encoder.blocks.", "face_decoder_blocks.": "decoder.blocks."}
    prefixes |= {"output_block.": "decoder.output."}
    renamed = {}
    for key, value in {**released[0], **released[1]}.items():
        old = next(p for p in prefixes if key.startswith(p))
        renamed[prefixes[old] + key[len(old) :]] = value
    by_name.load_state_dict(renamed, strict=True)
    loaded.eval()
    by_name.eval()
    torch.manual_seed(0)
    mel = torch.randn(2, 1, 80, 16)
    target, reference = torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1
    window = torch.rand(2, 3, 5, 128, 128) * 2 - 1
    with torch.no_grad():
        ours = loaded(mel, target, reference, window)
        theirs = by_name(mel, _bgr(target, 1), _bgr(reference, 1), _bgr(window, 1))  # released input: BGR
    torch.testing.assert_close(ours.key_frames, _bgr(theirs.key_frames, 1), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.value_frames, _bgr(theirs.value_frames, 1), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.lip_feature, theirs.lip_feature, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(ours.key_frames, theirs.key_frames, atol=1e-3)  # the colour order does matter


def test_released_state_with_a_missing_or_extra_key_is_refused():
    model_keys, decoder_keys = released_generator_keys()
    model, decoder = _seeded_state(model_keys, 1), _seeded_state(decoder_keys, 2)
    del model["lip_encoder.0.bias"]
    with pytest.raises(WeightsError, match=r"released\.pth.*missing.*lip_encoder\.layers\.0\.bias"):
        load_strict(SyncTalkFace(model_preset("paper")), generator_state_from_released(model, decoder), "released.pth")
    with pytest.raises(WeightsError, match=r"unexpected key 'extra\.weight'"):
        generator_state_from_released({**model, "extra.weight": torch.zeros(1)}, decoder, "released.pth")


def test_released_and_wav2lip_discriminator_states_load_strictly():
    for size, final_kernel in ((128, 4), (96, 3)):  # released SyncTalkFace; Wav2Lip's visual_quality_disc.pth
        state = _seeded_state(released_key_shapes(released_discriminator(final_kernel)), size)
        wrapped = {f"module.{k}": v for k, v in state.items()}  # Wav2Lip saves through DataParallel
        disc = QualityDiscriminator(model_preset("paper", image_size=size))
        load_strict(disc, discriminator_state_from_released(wrapped, "visual_quality_disc.pth"), "d.pth")
        frames = torch.rand(2, 3, size, size) * 2 - 1
        logits = disc(frames)
        conv = disc.stages[0][0].conv_block[0]  # undo the BGR flip to run the released weights on BGR frames
        torch.testing.assert_close(conv.weight, state["face_encoder_blocks.0.0.conv_block.0.weight"].flip(1))
        with torch.no_grad():
            conv.weight.copy_(state["face_encoder_blocks.0.0.conv_block.0.weight"])
        torch.testing.assert_close(disc(_bgr(frames, 1)), logits, atol=1e-5, rtol=1e-4)


# ---- the documented difference: logits + BCE-with-logits instead of the released Sigmoid + BCE


def test_gan_losses_with_logits_equal_the_released_sigmoid_bce():
    generator = torch.Generator().manual_seed(3)
    real, fake_te, fake_tr = (torch.randn(8, generator=generator) * 3 for _ in range(3))
    ones, zeros = torch.ones(8, 1), torch.zeros(8, 1)
    released_g = sum(F.binary_cross_entropy(torch.sigmoid(f)[:, None], ones) for f in (fake_te, fake_tr))
    ours_g = gan_generator_loss(fake_te) + gan_generator_loss(fake_tr)
    torch.testing.assert_close(ours_g, released_g, atol=1e-6, rtol=1e-5)
    released_d = F.binary_cross_entropy(torch.sigmoid(real)[:, None], ones) + sum(
        F.binary_cross_entropy(torch.sigmoid(f)[:, None], zeros) for f in (fake_te, fake_tr)
    )
    ours_d = gan_discriminator_loss(real, torch.stack([fake_te, fake_tr]))
    torch.testing.assert_close(ours_d, released_d, atol=1e-6, rtol=1e-5)


def test_load_generator_reads_a_released_checkpoint_file(tmp_path):
    from stfbench.reference_model.inference import load_generator

    model_keys, decoder_keys = released_generator_keys()
    released = {"model_state_dict": _seeded_state(model_keys, 1), "dec_state_dict": _seeded_state(decoder_keys, 2)}
    path = tmp_path / "checkpoint_step000100000.pth"
    torch.save({**released, "disc_state_dict": {}}, path)
    loaded = load_generator(path)
    assert (loaded.model.config.image_size, loaded.model.config.slots) == (128, 96) and not loaded.model.training
    expected = SyncTalkFace(model_preset("paper"))
    load_strict(expected, generator_state_from_released(released["model_state_dict"], released["dec_state_dict"]), path)
    for key, value in expected.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    del released["model_state_dict"]["mem.fusion.bias"]
    torch.save(released, path)
    with pytest.raises(WeightsError, match=r"checkpoint_step000100000\.pth.*missing.*memory\.fusion\.bias"):
        load_generator(path)
