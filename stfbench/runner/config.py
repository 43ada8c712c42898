"""Run settings as a dataclass (what the CLI and the ablation orchestrator pass to the runner)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stfbench.errors import StfbenchError

#: Driving audio of a run: the protocol's own, or silence of the same length (LipLeak's leakage test).
DRIVING_AUDIO = ("speech", "silent")
#: Metrics that compare each output frame with its own ground truth (none under cross pairing).
PAIRED_METRICS = frozenset({"psnr", "ssim", "lmd", "lpips"})
#: Metrics a silent-audio run cannot report: paired against the ground truth, which speaks; LSE of silence.
NOT_UNDER_SILENCE = PAIRED_METRICS | {"lse"}


@dataclass
class RunConfig:
    """One benchmark run: `model` over protocol `dataset`, written to `out_dir`."""

    model: str
    dataset: str
    out_dir: Path
    model_options: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None
    list_file: Path | None = None  # the protocol's clip list or pairs file, when not found in the root
    workers: int = 1  # processes preparing clips (0: one per CPU core)
    metrics: list[str] | None = None  # None: the protocol's metric list
    device: str | None = None
    shard: tuple[int, int] | None = None  # (index, count), 0-based
    resume: bool = False
    overwrite: bool = False
    keep_videos: bool = False
    seed: int = 0
    trust_unverified: bool = False
    show_progress: bool = True
    label: str | None = None  # row label in tables (default: the adapter's)
    lse_precision: str | None = None  # LSE SyncNet precision (fp32, bf16, fp16) instead of the protocol's
    gt_cache: bool = True  # reuse ground-truth landmarks and FID features from $STFBENCH_CACHE/gt
    per_frame: bool = False  # write RUN/per_frame/<clip>.json (LSE's offset curve and per-window confidence)
    audio: str = "speech"  # "speech": the protocol's driving audio; "silent": zeros of its length (leakage test)

    def __post_init__(self) -> None:
        if self.audio not in DRIVING_AUDIO:
            raise StfbenchError(f"--audio {self.audio}: choose {' or '.join(DRIVING_AUDIO)}")

    @property
    def run_dir(self) -> Path:
        """Where this process writes: `out_dir`, or `out_dir/shard-i-of-n` for a shard."""
        if self.shard is None:
            return Path(self.out_dir)
        index, count = self.shard
        return Path(self.out_dir) / shard_dir_name(index, count)


def shard_dir_name(index: int, count: int) -> str:
    return f"shard-{index:03d}-of-{count:03d}"


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n` (0 ≤ i < n) → (i, n)."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise StfbenchError(f"--shard {text}: expected i/n, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise StfbenchError(f"--shard {text}: need 0 <= i < n")
    return index, count
