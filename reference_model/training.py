"""Generic training loop shared by SyncTalkFace, its colour SyncNet expert and Wav2Lip.

A `TrainingTask` owns its networks, optimisers, batch sampling and one optimisation step; the `Trainer`
owns everything else: seeding, device and AMP, DistributedDataParallel (under torchrun), gradient
clipping, atomic checkpoints that resume the same run exactly, JSONL logs, rich progress, validation.

Determinism: the batch of step s on rank r is drawn from `np.random.default_rng([seed, s, r])`, and the
torch RNG state (dropout) is saved in every checkpoint, so an interrupted run resumed from its last
checkpoint reproduces the uninterrupted run on CPU.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.distributed as dist
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from stfbench import strict_json
from stfbench.console import Progress
from stfbench.errors import StfbenchError
from stfbench.reference_model.checkpoint import atomic_torch_save, load_checkpoint
from stfbench.reference_model.config import RunInfo, TrainConfig, from_dict

CHECKPOINT_NAME = "last.pt"
LOG_NAME = "train_log.jsonl"


class TrainingTask(ABC):
    """What one model family plugs into the `Trainer`."""

    #: Checkpoint kind ("synctalkface", "color-syncnet", "wav2lip").
    kind: str = "task"
    #: Networks saved in checkpoints and optimised (frozen loss networks are not listed here).
    modules: dict[str, nn.Module]
    #: Dataclass of each entry of `configs()`: a setting added after a run was saved is read as its default.
    config_types: ClassVar[dict[str, type]] = {}

    @abstractmethod
    def build_optimizers(self, train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        """One optimiser per independently stepped part (e.g. generator, discriminator)."""

    @abstractmethod
    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        """A CPU batch drawn only from `rng` (so a step's batch is a function of seed, step and rank)."""

    @abstractmethod
    def training_step(self, batch: dict[str, torch.Tensor], trainer: Trainer) -> dict[str, float]:
        """Forward, `trainer.optimize(...)` per optimiser; return the step's losses as floats."""

    def validate(self, trainer: Trainer) -> dict[str, float]:
        """Validation numbers on a few held-out clips ({} when there are none)."""
        return {}

    @abstractmethod
    def configs(self) -> dict[str, Any]:
        """Config dataclasses as dicts, saved in every checkpoint."""

    def extra_state(self) -> dict[str, Any]:
        """Anything else a checkpoint should carry (e.g. the expert's SHA-256)."""
        return {}

    def initialize(self, rng: np.random.Generator) -> None:  # noqa: B027 (optional hook, default: nothing)
        """Data-dependent initialisation before the first step of a fresh run (never on resume)."""


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch, and make CPU kernels deterministic."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


class Trainer:
    """Runs a `TrainingTask` for `train.steps` steps into `run_dir` (resuming from `run_dir/last.pt`)."""

    def __init__(self, task: TrainingTask, train: TrainConfig, run_dir: str | Path, device: torch.device, run: RunInfo):
        self.task = task
        self.train = train
        self.run_dir = Path(run_dir)
        self.device = device
        self.run_info = run
        self.rank = int(os.environ.get("RANK", 0))
        self.world_size = int(os.environ.get("WORLD_SIZE", 1))
        self.step = 0
        self.use_amp = train.amp and device.type == "cuda"
        for module in task.modules.values():
            module.to(device)
        self.optimizers = task.build_optimizers(train)
        self.scalers = {name: torch.amp.GradScaler(device.type, enabled=self.use_amp) for name in self.optimizers}
        self.nets: dict[str, nn.Module] = dict(task.modules)
        if self.world_size > 1:
            self._init_distributed()

    # ----------------------------------------------------------------------------------------- setup
    def _init_distributed(self) -> None:
        if not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.nets = {
            name: DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)
            if any(p.requires_grad for p in module.parameters())
            else module
            for name, module in self.task.modules.items()
        }

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def net(self, name: str) -> nn.Module:
        """The network to call forward on (DDP-wrapped under torchrun)."""
        return self.nets[name]

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(self.device.type, enabled=self.use_amp)

    def _set_learning_rates(self) -> None:
        """lr of every param group = its initial lr × the schedule's factor at the current step."""
        factor = self.train.lr_factor(self.step)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                base = group.setdefault("initial_lr", group["lr"])  # saved with the optimiser (torch's key)
                group["lr"] = base * factor

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        """Backward `loss`, clip (if configured) and step optimiser `name`, with AMP scaling on CUDA."""
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if self.train.grad_clip > 0:
            scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.train.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    # ----------------------------------------------------------------------------------- checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT_NAME

    def state(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly."""
        return {
            "format": "stfbench-checkpoint/1",
            "kind": self.task.kind,
            "configs": {**self.task.configs(), "train": asdict(self.train)},
            "modules": {name: module.state_dict() for name, module in self.task.modules.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "scalers": {name: scaler.state_dict() for name, scaler in self.scalers.items()},
            "step": self.step,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
            "run": asdict(self.run_info),
            **self.task.extra_state(),
        }

    def save(self) -> None:
        if self.is_main:
            atomic_torch_save(self.state(), self.checkpoint_path)

    def resume(self) -> bool:
        """Load `run_dir/last.pt` if present; False when starting fresh."""
        if not self.checkpoint_path.exists():
            return False
        state = load_checkpoint(self.checkpoint_path)
        if state.get("kind") != self.task.kind:
            raise StfbenchError(f"holds a {state.get('kind')!r} run, not {self.task.kind!r}", self.checkpoint_path)
        saved = {
            name: asdict(from_dict(self.task.config_types[name], value)) if name in self.task.config_types else value
            for name, value in state["configs"].items()
        }
        changed = sorted(k for k, v in self.task.configs().items() if saved.get(k) != v)
        if changed:
            raise StfbenchError(
                f"holds a run with different {', '.join(changed)} settings; use a new --out to start another run",
                self.checkpoint_path,
            )
        for name, module in self.task.modules.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(state["scalers"][name])
        self.step = int(state["step"])
        torch.set_rng_state(state["rng"]["torch"])
        random.setstate(state["rng"]["python"])
        self._truncate_log()
        return True

    # --------------------------------------------------------------------------------------- logging
    @property
    def log_path(self) -> Path:
        return self.run_dir / LOG_NAME

    def _truncate_log(self) -> None:
        """Drop log lines written after the checkpoint we resume from (that work is redone)."""
        if not self.is_main or not self.log_path.exists():
            return
        kept = [line for line in self.log_path.read_text().splitlines() if json.loads(line)["step"] <= self.step]
        tmp = self.log_path.with_suffix(".tmp")
        tmp.write_text("".join(f"{line}\n" for line in kept))
        os.replace(tmp, self.log_path)

    def log(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        with open(self.log_path, "a") as handle:
            handle.write(strict_json.dumps(record) + "\n")  # a diverged (NaN) loss is written as null
            handle.flush()
            os.fsync(handle.fileno())

    # ------------------------------------------------------------------------------------------- run
    def run(self, show_progress: bool = True, max_seconds: float | None = None) -> dict[str, float]:
        """Train until `train.steps`, or (single process only) until `max_seconds` of wall time have passed:
        then the step reached is logged and checkpointed and the run stops. Returns the last validation numbers."""
        if max_seconds is not None and self.world_size > 1:
            raise StfbenchError("a wall-time budget (max_seconds) needs a single process, not torchrun")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.resume():
            self.task.initialize(np.random.default_rng([self.train.seed, 2**32 - 1]))  # same on every rank
        running: dict[str, float] = {}
        validation: dict[str, float] = {}
        started = time.perf_counter()
        first_step = self.step
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            disable=not (show_progress and self.is_main),
        )
        with progress:
            bar = progress.add_task(self.task.kind, total=self.train.steps, completed=self.step, losses="")
            while self.step < self.train.steps:
                rng = np.random.default_rng([self.train.seed, self.step, self.rank])
                batch = {k: v.to(self.device) for k, v in self.task.sample_batch(rng, self.train.batch_size).items()}
                for module in self.task.modules.values():
                    module.train()
                self._set_learning_rates()
                losses = self.task.training_step(batch, self)
                self.step += 1
                out_of_time = max_seconds is not None and time.perf_counter() - started >= max_seconds
                running = {k: 0.9 * running.get(k, v) + 0.1 * v for k, v in losses.items()}
                if self.step % self.train.log_every == 0 or self.step == self.train.steps or out_of_time:
                    rate = (
                        (self.step - first_step)
                        * self.train.batch_size
                        * self.world_size
                        / (time.perf_counter() - started)
                    )
                    self.log({"step": self.step, **losses, "samples_per_s": rate})
                    progress.update(bar, losses=" ".join(f"{k} {v:.3f}" for k, v in running.items()))
                if self.train.validate_every and self.step % self.train.validate_every == 0:
                    validation = self._validate()
                if self.step % self.train.checkpoint_every == 0 or self.step == self.train.steps or out_of_time:
                    self.save()
                progress.update(bar, completed=self.step)
                if out_of_time:
                    break
        if not validation:
            validation = self._validate()
        return validation

    def _validate(self) -> dict[str, float]:
        if not self.is_main:
            return {}
        for module in self.task.modules.values():
            module.eval()
        with torch.no_grad():
            numbers = self.task.validate(self)
        if numbers:
            self.log({"step": self.step, **{f"val_{k}": v for k, v in numbers.items()}})
        return numbers
