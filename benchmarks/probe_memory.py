"""How much of the mouth's articulation do a SyncTalkFace checkpoint's features hold? A linear probe on the
synthetic corpus, whose clips carry exact articulation (jaw, spread, protrusion, closure per frame).

    python benchmarks/probe_memory.py runs/stf96/last.pt [more checkpoints] [--split val] [--clips 8]

For every frame t of the split's clips (t = 2 … T−3) it takes the audio feature f_aud (mel window of t), the
lip feature f_lip (GT frames t−2 … t+2, training checkpoints only: exports drop the lip encoder), and with a
memory the key-addressed recall A_aud·M_value and the key address A_aud itself. Each is standardised and
regressed on the four articulation parameters by ridge regression (λ = 10); the printed figure is R² on
held-out clips (leave one clip out), averaged over the four parameters: 1 = the feature determines the
mouth linearly, 0 = no better than the mean over the other clips (it can go below 0).

It also prints which input the decoder reads, on 8 fixed windows of the split (40 frames): the mean L1 on
[0, 1] of the generated lower halves between the key path Î_g and the training path Î_G (real lip feature
or its value recall), and between Î_g for the true audio and for another window's audio.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from stfbench.datasets import clip_path, layout_of
from stfbench.protocols import protocol_root
from stfbench.reference_model.data import TrainingClip, sample_generator_batch, to_unit_range
from stfbench.reference_model.dataset import dataset_protocol, load_training_clips
from stfbench.reference_model.generator import SyncTalkFace, mask_upper_half
from stfbench.reference_model.inference import load_generator
from stfbench.reference_model.recipes import lip_encoder_windows
from stfbench.synth import load_ground_truth


def ridge_r2(features: np.ndarray, targets: np.ndarray, groups: np.ndarray, penalty: float = 10.0) -> float:
    """Leave-one-group-out R² of a ridge regression (N, F) → (N, K), averaged over the K targets."""
    predictions = np.zeros_like(targets)
    for group in np.unique(groups):
        train, test = groups != group, groups == group
        mean, std = features[train].mean(0), features[train].std(0) + 1e-6
        x = (features[train] - mean) / std  # (n, F)
        y_mean = targets[train].mean(0)
        weights = np.linalg.solve(x.T @ x + penalty * np.eye(x.shape[1]), x.T @ (targets[train] - y_mean))  # (F, K)
        predictions[test] = (features[test] - mean) / std @ weights + y_mean
    residual = ((targets - predictions) ** 2).sum(0)
    total = ((targets - targets.mean(0)) ** 2).sum(0)
    return float((1 - residual / total).mean())


def lower_half_changes(generator: SyncTalkFace, clips: list[TrainingClip], with_lip: bool) -> tuple[float, float]:
    """Mean L1 on [0, 1] of generated lower halves: Î_g against Î_G (nan without memory or lip encoder), and
    Î_g against Î_g driven by another window's audio."""
    batch = sample_generator_batch(clips, np.random.default_rng(1), 8)
    window = batch["window"]  # (8, 9, 3, H, W)
    _, _, c, h, w = window.shape
    target, reference = window[:, 2:7].reshape(-1, c, h, w), batch["reference"].reshape(-1, c, h, w)  # (40, 3, H, W)
    mel = batch["mels"].reshape(-1, 1, 80, 16)  # (40, 1, 80, 16)
    with torch.no_grad():
        out = generator(mel, target, reference, lip_encoder_windows(window) if with_lip else None)
        swapped = generator(mel.roll(7, 0), target, reference).key_frames

    def change(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a[..., h // 2 :, :] - b[..., h // 2 :, :]).abs().mean() / 2)

    paths = change(out.key_frames, out.value_frames) if out.value_frames is not None else float("nan")
    return paths, change(out.key_frames, swapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--split", default="val")
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    clips = load_training_clips("synthetic", args.split, 96, -1, None, args.clips)
    protocol = dataset_protocol("synthetic")
    base = protocol_root(protocol, None)
    layout = layout_of(protocol.dataset, base)
    truth = [
        load_ground_truth(clip_path(layout, base, clip.clip_id, args.split)).articulation[2 : clip.num_frames - 2]
        for clip in clips
    ]
    targets = np.concatenate(truth)  # (N, 4)
    groups = np.concatenate([np.full(len(t), i) for i, t in enumerate(truth)])  # (N,)
    print(f"{len(clips)} {args.split} clips, {len(targets)} frames; R² of articulation (leave one clip out)")
    print(f"{'checkpoint':40s} {'f_aud':>7s} {'f_lip':>7s} {'recall':>7s} {'A_aud':>7s} {'Î_g↔Î_G':>8s} {'audio':>7s}")
    for path in args.checkpoints:
        loaded = load_generator(path)
        generator, with_lip = loaded.model, not loaded.inference_only
        features: dict[str, list[torch.Tensor]] = {"aud": [], "lip": [], "recall": [], "address": []}
        with torch.no_grad():
            for clip in clips:
                frames = to_unit_range(clip.frames)  # (T, 3, H, W)
                t = range(2, clip.num_frames - 2)
                mel = torch.from_numpy(clip.gen_mels[2 : clip.num_frames - 2])[:, None]  # (N, 1, 80, 16)
                audio = generator.audio_encoder(mel)  # (N, E)
                features["aud"].append(audio)
                if with_lip:
                    windows = torch.stack([frames[i - 2 : i + 3] for i in t]).permute(0, 2, 1, 3, 4)  # (N, 3, 5, H, W)
                    features["lip"].append(generator.lip_encoder(mask_upper_half(windows)))
                if generator.memory is not None:
                    address = generator.memory.key_address(audio)  # (N, S)
                    features["address"].append(address)
                    features["recall"].append(generator.memory.recall(address))
        scores = [
            f"{ridge_r2(torch.cat(v).numpy(), targets, groups):7.3f}" if v else f"{'—':>7s}" for v in features.values()
        ]
        paths, audio_swap = lower_half_changes(generator, clips, with_lip)
        print(f"{str(path)[-40:]:40s} " + " ".join(scores) + f" {paths:8.4f} {audio_swap:7.4f}", flush=True)


if __name__ == "__main__":
    main()
