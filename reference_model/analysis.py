"""What the Audio-Lip Memory learned (the paper's memory analysis).

For every frame of a set of clips the key address A_aud (softmax over slots of κ·cos, from the frame's
audio window) is computed. Reported:
- slot usage: fraction of frames whose most-addressed slot is i, and the mean address weight per slot;
- address entropy H = −Σ_i a_i ln a_i in nats (0 = one-hot, ln S = uniform), averaged over frames;
- slot ↔ phoneme association: the mean address of the frames of each phoneme (P × S), with each
  phoneme's top slot; the phoneme of a frame is the one sounding at its centre time (i + 0.5)/fps;
- per-slot mouth shapes: frames decoded from a one-hot address on each slot (silent audio, one pose and
  identity frame), lower halves in a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from stfbench import strict_json
from stfbench.errors import StfbenchError
from stfbench.reference_model.data import from_unit_range, to_unit_range
from stfbench.reference_model.generator import SyncTalkFace

SILENCE = -4.0  # the mel spectrogram's floor value (silence)


@dataclass
class MemoryReport:
    """Address statistics over `frames` frames of a model with `slot_usage.size` slots."""

    slot_usage: np.ndarray  # (S,) fraction of frames with slot i as top slot
    mean_address: np.ndarray  # (S,) mean address weight
    entropy: float  # mean address entropy, nats
    phonemes: list[str]  # P phoneme symbols, in order of first appearance sorted by symbol
    phoneme_frames: np.ndarray  # (P,) frames per phoneme
    association: np.ndarray  # (P, S) mean address of each phoneme's frames
    frames: int

    @property
    def max_entropy(self) -> float:
        return float(np.log(self.slot_usage.size))

    @property
    def slots_used(self) -> int:
        """Slots that are the top slot of at least one frame."""
        return int((self.slot_usage > 0).sum())

    def table(self) -> list[dict[str, object]]:
        """One row per phoneme: frames, top slot and its mean weight, and the phoneme's address entropy."""
        rows = []
        for symbol, count, address in zip(self.phonemes, self.phoneme_frames, self.association, strict=True):
            top = int(address.argmax())
            rows.append({"phoneme": symbol, "frames": int(count), "top_slot": top, "top_weight": float(address[top])})
        return rows

    def to_json(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "slots": int(self.slot_usage.size),
            "slots_used": self.slots_used,
            "entropy_nats": self.entropy,
            "max_entropy_nats": self.max_entropy,
            "slot_usage": self.slot_usage.tolist(),
            "mean_address": self.mean_address.tolist(),
            "phonemes": self.table(),
        }


@torch.no_grad()
def key_addresses(model: SyncTalkFace, mel_windows: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, 80, 16) mel windows → (N, S) key addresses."""
    if model.memory is None:
        raise StfbenchError("this checkpoint has no memory (slots=0): nothing to analyse")
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(mel_windows), batch_size):
        mel = torch.from_numpy(mel_windows[start : start + batch_size]).to(device)[:, None]  # (B, 1, 80, 16)
        out.append(model.memory.key_address(model.audio_encoder(mel)).float().cpu().numpy())
    return np.concatenate(out)


def analyse(addresses: np.ndarray, labels: list[str]) -> MemoryReport:
    """Statistics of (N, S) addresses with one phoneme label per row."""
    if len(addresses) != len(labels) or len(labels) == 0:
        raise StfbenchError(f"{len(addresses)} addresses but {len(labels)} phoneme labels")
    slots = addresses.shape[1]
    top = addresses.argmax(axis=1)
    usage = np.bincount(top, minlength=slots) / len(top)
    entropy = float(-(addresses * np.log(np.clip(addresses, 1e-12, None))).sum(axis=1).mean())
    phonemes = sorted(set(labels))
    label_index = np.array([phonemes.index(label) for label in labels])
    counts = np.bincount(label_index, minlength=len(phonemes))
    association = np.stack([addresses[label_index == p].mean(axis=0) for p in range(len(phonemes))])
    return MemoryReport(usage, addresses.mean(axis=0), entropy, phonemes, counts, association, len(labels))


def plot_usage(report: MemoryReport, path: str | Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.bar(np.arange(report.slot_usage.size), report.slot_usage, color="tab:blue", label="top-slot frequency")
    ax.plot(report.mean_address, color="tab:orange", label="mean address weight")
    ax.set_xlabel("slot")
    ax.set_title(
        f"slot usage over {report.frames} frames: {report.slots_used}/{report.slot_usage.size} slots used, "
        f"entropy {report.entropy:.2f} of {report.max_entropy:.2f} nats"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_association(report: MemoryReport, path: str | Path) -> Path:
    """Heat map phoneme × slot of the mean key address."""
    fig, ax = plt.subplots(figsize=(12, 0.3 * len(report.phonemes) + 1.5))
    image = ax.imshow(report.association, aspect="auto", cmap="magma", interpolation="nearest")
    ax.set_yticks(
        range(len(report.phonemes)),
        [f"{p} ({n})" for p, n in zip(report.phonemes, report.phoneme_frames, strict=True)],
        fontsize=7,
    )
    ax.set_xlabel("slot")
    ax.set_title("mean key address per phoneme (frames in brackets)")
    fig.colorbar(image, ax=ax, fraction=0.02)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


@torch.no_grad()
def slot_mouths(model: SyncTalkFace, pose: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Lower halves (S, H/2, W, 3) uint8 decoded from a one-hot address on each slot, with silent audio,
    pose crop `pose` and identity crop `reference` ((H, W, 3) uint8 at the model's size)."""
    if model.memory is None:
        raise StfbenchError("this checkpoint has no memory (slots=0): nothing to decode")
    device = next(model.parameters()).device
    slots = model.memory.slots
    one_hot = torch.eye(slots, device=device)  # (S, S)
    mel = torch.full((slots, 1, 80, 16), SILENCE, device=device)
    target = to_unit_range(pose).to(device).expand(slots, -1, -1, -1)  # (S, 3, H, W)
    identity = to_unit_range(reference).to(device).expand(slots, -1, -1, -1)
    frames = from_unit_range(model.decode_address(one_hot, mel, target, identity))  # (S, H, W, 3)
    return frames[:, frames.shape[1] // 2 :]


def plot_slot_mouths(mouths: np.ndarray, path: str | Path, columns: int = 12) -> Path:
    rows = -(-len(mouths) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 0.75), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(mouths):
            ax.imshow(mouths[index])
            ax.set_title(str(index), fontsize=6, pad=1)
    fig.suptitle("mouth decoded from a one-hot address on each slot (silent audio)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def write_report(report: MemoryReport, path: str | Path) -> Path:
    Path(path).write_text(strict_json.dumps(report.to_json(), indent=1) + "\n")
    return Path(path)
