"""The generic trainer with the SyncTalkFace and colour-expert recipes: learning, exact resume, DDP."""

from __future__ import annotations

import itertools
import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from stfbench.errors import StfbenchError
from stfbench.reference_model.checkpoint import export_inference, load_checkpoint
from stfbench.reference_model.config import LossConfig, RunInfo, TrainConfig, expert_preset, model_preset
from stfbench.reference_model.data import TrainingClip, sample_expert_batch, sample_generator_batch
from stfbench.reference_model.generator import mask_upper_half
from stfbench.reference_model.inference import load_generator
from stfbench.reference_model.memory import address
from stfbench.reference_model.recipes import ExpertTask, SyncTalkFaceTask, lip_encoder_windows
from stfbench.reference_model.syncnet import ColorSyncNet, freeze
from stfbench.reference_model.training import Trainer, seed_everything


def _clips(count: int = 2, frames: int = 16, size: int = 64) -> list[TrainingClip]:
    """Clips whose lower half brightness follows the first mel band (a learnable audio → mouth mapping)."""
    rng = np.random.default_rng(0)
    clips = []
    for i in range(count):
        level = rng.uniform(-4, 4, frames).astype(np.float32)  # (T,)
        mels = np.repeat(level[:, None, None], 80, axis=1).repeat(16, axis=2)  # (T, 80, 16)
        yy, xx = np.mgrid[0:size, 0:size] / size
        face = (np.stack([yy, xx, 0.5 + 0 * xx], axis=2) * 200 + rng.integers(0, 50)).astype(np.uint8)  # smooth face
        video = np.repeat(face[None], frames, axis=0)
        video[:, size // 2 :] = ((level + 4) * 31)[:, None, None, None].astype(np.uint8)
        clips.append(TrainingClip(f"c{i}", video, mels, mels.copy()))
    return clips


def _task(slots: int = 8, with_expert: bool = True, memory_init: str = "random") -> SyncTalkFaceTask:
    seed_everything(0)
    expert = freeze(ColorSyncNet(expert_preset("micro"))) if with_expert else None
    loss = LossConfig() if with_expert else LossConfig(av_sync=0.0)
    model = model_preset("micro", slots=slots, memory_init=memory_init)
    return SyncTalkFaceTask(model, loss, _clips(), _clips(1), expert, "0" * 64)


def _log(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def test_batches_have_the_recipe_shapes_and_alignment():
    clips = _clips()
    batch = sample_generator_batch(clips, np.random.default_rng(3), 4)
    assert batch["window"].shape == (4, 9, 3, 64, 64) and batch["reference"].shape == (4, 5, 3, 64, 64)
    assert batch["mels"].shape == (4, 5, 1, 80, 16) and batch["sync_mel"].shape == (4, 1, 80, 16)
    expert = sample_expert_batch(clips, np.random.default_rng(3), 64)
    assert expert["frames"].shape == (64, 5, 3, 64, 64) and 10 < expert["label"].sum() < 54
    again = sample_generator_batch(clips, np.random.default_rng(3), 4)
    assert all(torch.equal(batch[k], again[k]) for k in batch)


class _OneBatchTask(SyncTalkFaceTask):
    """Always the same batch: a short run must fit it."""

    def sample_batch(self, rng, batch_size):
        return super().sample_batch(np.random.default_rng(0), batch_size)


def test_short_training_lowers_l1_and_align_loss(tmp_path):
    """A fixed batch is fitted: L1 falls in trend and the align loss collapses. Thread count and instruction set
    change the trajectory (measured over 5 seeds x 1/2 threads at 40 steps: Spearman rho <= -0.91, best late L1
    <= 0.83 of the start, late align <= 0.20 of the start), so the bounds sit far from every observed run."""
    from scipy.stats import spearmanr

    seed_everything(0)
    task = _OneBatchTask(model_preset("micro", fusion_dropout=0.0), LossConfig(av_sync=0.0, gan=0.0), _clips())
    train = TrainConfig(steps=40, batch_size=2, lr_generator=3e-3, log_every=1, checkpoint_every=1000)
    Trainer(task, train, tmp_path, torch.device("cpu"), RunInfo()).run(show_progress=False)
    log = [r for r in _log(tmp_path) if "l1_g" in r]
    for key in ("l1_g", "l1_G"):
        values = np.array([r[key] for r in log])  # (40,)
        assert spearmanr(np.arange(len(values)), values)[0] < -0.6, key  # a constant or rising loss fails
        assert values[-10:].min() < 0.95 * values[:3].mean(), key
    align = np.array([r["align"] for r in log])
    assert align[-10:].mean() < 0.5 * align[:3].mean()


@pytest.mark.parametrize("memory_init", ["random", "data"])
def test_resume_equals_uninterrupted_run(tmp_path, memory_init):
    train = TrainConfig(steps=4, batch_size=2, log_every=1, checkpoint_every=2)
    straight = Trainer(_task(memory_init=memory_init), train, tmp_path / "a", torch.device("cpu"), RunInfo())
    straight.run(show_progress=False)
    half_config = TrainConfig(**{**train.__dict__, "steps": 2})
    half = Trainer(_task(memory_init=memory_init), half_config, tmp_path / "b", torch.device("cpu"), RunInfo())
    half.run(show_progress=False)
    torch.manual_seed(123)  # a different global RNG state: the checkpoint must restore it
    resumed = Trainer(_task(memory_init=memory_init), train, tmp_path / "b", torch.device("cpu"), RunInfo())
    resumed.run(show_progress=False)
    assert resumed.step == 4
    for key, value in straight.task.generator.state_dict().items():
        assert torch.equal(value, resumed.task.generator.state_dict()[key]), key

    def losses(run):
        return [{k: v for k, v in r.items() if k != "samples_per_s"} for r in _log(tmp_path / run) if "total" in r]

    assert losses("a") == losses("b")


def test_cosine_schedule_factors():
    cosine = TrainConfig(steps=5, lr_schedule="cosine", lr_final_ratio=0.1)
    factors = [cosine.lr_factor(step) for step in range(5)]
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(0.1)
    assert factors[2] == pytest.approx(0.55) and all(a > b for a, b in itertools.pairwise(factors))
    assert {TrainConfig(steps=5).lr_factor(step) for step in range(5)} == {1.0}  # constant: the released recipe
    with pytest.raises(StfbenchError, match="lr-schedule"):
        TrainConfig(lr_schedule="linear")


class _Interrupted(Exception):
    pass


class _InterruptAfterTwo(SyncTalkFaceTask):
    """Dies at the third step, after the step-2 checkpoint (a killed run)."""

    def training_step(self, batch, trainer):
        if trainer.step == 2:
            raise _Interrupted
        return super().training_step(batch, trainer)


def test_cosine_run_sets_each_steps_lr_and_resumes_exactly(tmp_path):
    train = TrainConfig(steps=4, batch_size=2, log_every=1, checkpoint_every=2, lr_generator=1e-3)
    train = TrainConfig(**{**train.__dict__, "lr_schedule": "cosine", "lr_final_ratio": 0.2})
    seen = []

    class Recording(SyncTalkFaceTask):
        def training_step(self, batch, trainer):
            seen.append(trainer.optimizers["generator"].param_groups[0]["lr"])
            return super().training_step(batch, trainer)

    seed_everything(0)
    straight_task = _task()
    straight_task.__class__ = Recording
    straight = Trainer(straight_task, train, tmp_path / "a", torch.device("cpu"), RunInfo())
    straight.run(show_progress=False)
    assert seen == pytest.approx([1e-3 * train.lr_factor(step) for step in range(4)])
    assert seen[-1] == pytest.approx(2e-4)
    killed_task = _task()
    killed_task.__class__ = _InterruptAfterTwo
    with pytest.raises(_Interrupted):
        Trainer(killed_task, train, tmp_path / "b", torch.device("cpu"), RunInfo()).run(show_progress=False)
    resumed = Trainer(_task(), train, tmp_path / "b", torch.device("cpu"), RunInfo())
    resumed.run(show_progress=False)
    for key, value in straight.task.generator.state_dict().items():
        assert torch.equal(value, resumed.task.generator.state_dict()[key]), key


def test_data_memory_init_puts_each_slot_on_a_training_frame():
    """memory_init="data": slot i holds the projected features of frame i of an init batch, so frame i
    addresses its own slot on both memories; BatchNorm running statistics are left as they were."""
    task = _task(slots=8, memory_init="data")
    generator, memory = task.generator, task.generator.memory
    random_key = memory.key.detach().clone()
    buffers = {name: value.clone() for name, value in generator.named_buffers()}
    rng = np.random.default_rng([0, 2**32 - 1])
    task.initialize(np.random.default_rng([0, 2**32 - 1]))
    assert not torch.equal(memory.key, random_key)
    assert all(torch.equal(value, buffers[name]) for name, value in generator.named_buffers())
    batch = sample_generator_batch(task.clips, rng, 2)  # the init batch: 2 windows × 5 frames ≥ 8 slots
    generator.train()
    with torch.no_grad():
        audio = generator.audio_encoder(batch["mels"].reshape(-1, 1, 80, 16))[:8]  # (8, E)
        lip = generator.lip_encoder(mask_upper_half(lip_encoder_windows(batch["window"])))[:8]  # (8, E)
        assert memory.key_address(audio).argmax(1).tolist() == list(range(8))
        assert address(memory.lip_query(lip), memory.value, memory.kappa).argmax(1).tolist() == list(range(8))
    random_task = _task(slots=8)
    random_task.initialize(np.random.default_rng([0, 2**32 - 1]))  # memory_init="random": a no-op
    assert torch.equal(random_task.generator.memory.key, random_key)


@pytest.mark.parametrize("branch", ["live", "detached"])
def test_vv_gt_branch_decides_whether_the_vv_loss_trains_the_lip_encoder(tmp_path, branch):
    """With only the VV loss on and no memory (so no generated frame depends on the lip encoder), one step
    changes the lip encoder iff its GT branch is live."""
    seed_everything(0)
    loss = LossConfig(recon=0.0, av_sync=0.0, gan=0.0, memory=0.0, vv_gt_branch=branch)
    task = SyncTalkFaceTask(model_preset("micro", slots=0), loss, _clips())
    before = {k: v.clone() for k, v in task.generator.lip_encoder.state_dict().items() if v.is_floating_point()}
    Trainer(task, TrainConfig(steps=1, batch_size=2), tmp_path, torch.device("cpu"), RunInfo()).run(show_progress=False)
    weights = [k for k in before if not k.endswith(("running_mean", "running_var"))]
    changed = any(not torch.equal(before[k], task.generator.lip_encoder.state_dict()[k]) for k in weights)
    assert changed == (branch == "live")
    assert _log(tmp_path)[0]["vv_g"] > 0


def test_resuming_with_other_model_settings_is_refused(tmp_path):
    Trainer(_task(), TrainConfig(steps=1, batch_size=2), tmp_path, torch.device("cpu"), RunInfo()).run(
        show_progress=False
    )
    other = Trainer(_task(slots=4), TrainConfig(steps=2, batch_size=2), tmp_path, torch.device("cpu"), RunInfo())
    with pytest.raises(StfbenchError, match="different model settings"):
        other.run(show_progress=False)


def test_runs_saved_before_a_setting_existed_resume_with_its_default(tmp_path):
    """A checkpoint whose configs lack a later-added field (here address_norm, vv_gt_branch, the optimisers'
    initial_lr) resumes when the
    current value is that field's default, and is refused when it is not."""
    Trainer(_task(), TrainConfig(steps=1, batch_size=2), tmp_path, torch.device("cpu"), RunInfo()).run(
        show_progress=False
    )
    path = tmp_path / "last.pt"
    state = torch.load(path, weights_only=True)
    del state["configs"]["model"]["address_norm"], state["configs"]["loss"]["vv_gt_branch"]
    for optimizer in state["optimizers"].values():  # saved before the lr schedule existed
        for group in optimizer["param_groups"]:
            del group["initial_lr"]
    torch.save(state, path)
    resumed = Trainer(_task(), TrainConfig(steps=2, batch_size=2), tmp_path, torch.device("cpu"), RunInfo())
    resumed.run(show_progress=False)
    assert resumed.step == 2
    seed_everything(0)
    other = SyncTalkFaceTask(
        model_preset("micro", slots=8, address_norm="batch"), LossConfig(), _clips(), None, _task().expert, "0" * 64
    )
    with pytest.raises(StfbenchError, match="different model settings"):
        Trainer(other, TrainConfig(steps=3, batch_size=2), tmp_path, torch.device("cpu"), RunInfo()).run(
            show_progress=False
        )


def test_memory_off_model_trains_and_exports(tmp_path):
    task = _task(slots=0)
    trainer = Trainer(task, TrainConfig(steps=2, batch_size=2), tmp_path, torch.device("cpu"), RunInfo(["x"], "d", 0))
    trainer.run(show_progress=False)
    assert "store" not in _log(tmp_path)[0] and "l1_G" not in _log(tmp_path)[0]
    export_inference(trainer.state(), ["generator"], tmp_path / "g.pt", drop=("generator.lip_encoder.",))
    loaded = load_generator(tmp_path / "g.pt")
    assert loaded.model.memory is None
    assert loaded.inference_only and not load_generator(tmp_path / "last.pt").inference_only  # lip encoder only in last
    assert load_checkpoint(tmp_path / "g.pt")["modules"]["generator"]["decoder.output.1.weight"].dtype == torch.float16


def test_expert_recipe_learns_sync_on_structured_clips(tmp_path):
    seed_everything(0)
    task = ExpertTask(expert_preset("micro"), _clips(4), _clips(2))
    train = TrainConfig(steps=60, batch_size=16, lr_generator=2e-3, log_every=1)
    numbers = Trainer(task, train, tmp_path, torch.device("cpu"), RunInfo()).run(show_progress=False)
    log = _log(tmp_path)
    assert np.mean([r["bce"] for r in log[-10:] if "bce" in r]) < np.mean([r["bce"] for r in log[:10] if "bce" in r])
    assert set(numbers) == {"bce", "acc"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, run_dir: str, queue) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    trainer = Trainer(_task(), TrainConfig(steps=2, batch_size=2), run_dir, torch.device("cpu"), RunInfo())
    trainer.run(show_progress=False)
    queue.put((rank, {k: v.numpy().copy() for k, v in trainer.task.generator.state_dict().items()}))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_process_gloo_training_keeps_replicas_identical(tmp_path):
    context = mp.get_context("fork")
    queue = context.Queue()
    port = _free_port()
    processes = [context.Process(target=_ddp_worker, args=(r, 2, port, str(tmp_path), queue)) for r in range(2)]
    for process in processes:
        process.start()
    states = dict(queue.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    for key, value in states[0].items():
        if value.dtype.kind == "f" and "running" not in key:
            np.testing.assert_allclose(value, states[1][key], atol=1e-6, err_msg=key)
    assert (tmp_path / "last.pt").exists()


def test_laplacian_loss_definition_and_that_it_trains():
    """|∇²Î − ∇²I| on [0, 1]: a one-pixel checkerboard of amplitude a costs 8a (L1 costs a), a linear ramp
    added to one image costs nothing; a negative weight is refused."""
    from stfbench.reference_model.losses import laplacian_l1, recon_l1

    target = torch.zeros(1, 3, 16, 16)
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 2 - 1.0  # (16, 16): ±1
    generated = target + 0.1 * checker  # amplitude 0.05 on [0, 1]
    assert recon_l1(generated, target).item() == pytest.approx(0.05)
    assert laplacian_l1(generated, target).item() == pytest.approx(8 * 0.05)
    ramp = torch.linspace(-1, 1, 16)[None, None, None, :].expand(1, 3, 16, 16)
    assert laplacian_l1(target + ramp, target).item() == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(StfbenchError, match="laplacian"):
        LossConfig(laplacian=-1.0)


def test_laplacian_term_is_logged_and_moves_the_generator(tmp_path):
    """With only the Laplacian term on, one step logs it and changes the generator's weights."""
    seed_everything(0)
    loss = LossConfig(recon=0.0, av_sync=0.0, vv_sync=0.0, gan=0.0, memory=0.0, laplacian=1.0)
    task = SyncTalkFaceTask(model_preset("micro", slots=0), loss, _clips())
    before = {k: v.clone() for k, v in task.generator.state_dict().items() if v.is_floating_point()}
    Trainer(task, TrainConfig(steps=1, batch_size=2), tmp_path, torch.device("cpu"), RunInfo()).run(show_progress=False)
    after = task.generator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert _log(tmp_path)[0]["lap_g"] > 0
