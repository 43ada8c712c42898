"""LSE-C / LSE-D / AV offset (Prajwal et al. 2020) with SyncNet, computed as syncnet_python does.

- LSE-D (↓, Euclidean distance between 1024-d SyncNet embeddings, [0, ∞)): per clip the minimum over
  offsets −15…+15 frames of the mean audio–video distance.
- LSE-C (↑, same units, [0, ∞)): per clip the lower median minus that minimum.
- AV offset (frames at 25 fps, −15…+15; 0 = in sync, negative = audio lags video).
Dataset values are plain means over clips (Wav2Lip's `calculate_scores_LRS.py`).

Crop variants, part of the metric name: `fullframe224` (every whole frame resized to 224×224 —
published LRS2/LRW numbers) and `facecrop` (syncnet_python's face-track crop, scale 0.4, 224×224).
The name also carries the weights (`syncnet_v2`, or `syncnet_synthetic` on the synthetic protocol) and,
when it is not fp32, the SyncNet forward precision (`lse[fullframe224,syncnet_v2,bf16]`).

`precompute(samples)` scores several clips with their windows sharing forward batches; `update(sample)`
then takes that clip's result (equal to scoring it alone) and accumulates it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stfbench.device import cpu_has_native_bf16
from stfbench.errors import NoAudioError, StfbenchError
from stfbench.metrics.base import Metric, ScoringSample
from stfbench.metrics.exact_sum import ExactSum
from stfbench.metrics.facecrop import Detector, crop_track, track_boxes
from stfbench.metrics.sync import (
    SyncInput,
    SyncResult,
    check_precision,
    clip_embeddings,
    resize_bgr224,
    sync_arrays,
    sync_distances,
    sync_scores,
    sync_tensors,
)

VARIANTS = ("fullframe224", "facecrop")


@dataclass(frozen=True)
class SyncStage:
    """LSE's clip stage (no network; picklable when the detector is): the SyncNet input frames and the MFCC."""

    variant: str
    detector: Detector | None
    crop_scale: float

    def lips(self, sample: ScoringSample) -> np.ndarray:
        """(T, 224, 224, 3) uint8 BGR SyncNet input frames of the sample's generated video."""
        frames = sample.pred_frames if sample.pred_frames is not None else sample.pred_crops
        if self.variant == "facecrop":
            boxes = track_boxes(frames, self.detector, sample.clip_id)
            return np.ascontiguousarray(crop_track(frames, boxes, self.crop_scale)[..., ::-1])
        return resize_bgr224(frames)

    def __call__(self, sample: ScoringSample) -> tuple[np.ndarray, np.ndarray, int]:
        if sample.audio is None or len(sample.audio) == 0:
            raise NoAudioError("LSE needs the clip's audio", sample.clip_id)
        return sync_arrays(self.lips(sample), sample.audio, sample.sample_rate, sample.clip_id)


class LSE(Metric):
    keys = ("lse_c", "lse_d", "av_offset")

    def __init__(
        self,
        net: torch.nn.Module,
        weights_label: str,
        device: torch.device,
        variant: str = "fullframe224",
        vshift: int = 15,
        batch_size: int = 20,
        detector: Detector | None = None,
        detector_label: str | None = None,
        crop_scale: float = 0.4,
        provenance: dict[str, Any] | None = None,
        precision: str = "fp32",
    ) -> None:
        if variant not in VARIANTS:
            raise StfbenchError(f"unknown LSE variant {variant!r} (choose {', '.join(VARIANTS)})")
        if variant == "facecrop" and detector is None:
            raise StfbenchError("LSE facecrop needs a face detector")
        check_precision(precision, device)
        if precision == "bf16" and device.type == "cpu" and cpu_has_native_bf16() is False:
            warnings.warn(
                "LSE precision bf16 on a CPU without native bfloat16 (no AVX512_BF16 or AMX): it runs several times "
                "slower than fp32 here (6x measured on an AVX2-only CPU); fp32 is faster and exact",
                stacklevel=2,
            )
        self.net = net
        self.weights_label = weights_label
        self.device = device
        self.variant = variant
        self.vshift = vshift
        self.batch_size = batch_size
        self.detector = detector
        self.detector_label = detector_label
        self.crop_scale = crop_scale
        self.weights = provenance or {}
        self.precision = precision
        self.pending: dict[str, tuple[ScoringSample, SyncResult | StfbenchError]] = {}
        self.stage = SyncStage(variant, detector, crop_scale)
        self.reset()

    needs_frames = True

    def reset(self) -> None:
        self.sums = {key: ExactSum() for key in ("lse_c", "lse_d", "av_offset")}
        self.clips = 0
        self.last: SyncResult | None = None

    def per_frame(self) -> dict[str, Any] | None:
        """The last clip's offset curve (mean distance per AV offset, frames) and per-window confidence (window
        i = frames i…i+4), raw and 9-tap median-filtered, as syncnet_python's evaluate computes them."""
        if self.last is None:
            return None
        result = self.last
        return {
            "av_offset": result.av_offset,
            "lse_d": result.lse_d,
            "lse_c": result.lse_c,
            "offsets": result.offsets.tolist(),
            "mean_dists": result.mean_dists.tolist(),
            "frame_conf": result.frame_conf.tolist(),
            "frame_conf_medfilt9": result.frame_conf_filtered(9).tolist(),
        }

    @property
    def name(self) -> str:
        precision = "" if self.precision == "fp32" else f",{self.precision}"
        return f"lse[{self.variant},{self.weights_label}{precision}]"

    def lips(self, sample: ScoringSample) -> np.ndarray:
        """(T, 224, 224, 3) uint8 BGR SyncNet input frames of the sample's generated video."""
        return self.stage.lips(sample)

    def clip_stage(self) -> SyncStage:
        return self.stage

    def sync_input(self, sample: ScoringSample) -> SyncInput:
        """The clip's SyncNet input (NoAudioError, TooShortError, NoFaceError are the clip's failures)."""
        return sync_tensors(self.staged(sample, self.stage), self.device)

    def score_many(self, samples: Sequence[ScoringSample]) -> list[SyncResult | StfbenchError]:
        """Each clip's result, or its failure, with the windows of all clips sharing forward batches."""
        inputs: list[SyncInput | StfbenchError] = []
        for sample in samples:
            try:
                inputs.append(self.sync_input(sample))
            except StfbenchError as error:
                inputs.append(error)
        good = [x for x in inputs if isinstance(x, SyncInput)]
        embeddings = iter(clip_embeddings(self.net, good, self.batch_size, self.precision))
        return [
            x
            if isinstance(x, StfbenchError)
            else sync_scores(sync_distances(*next(embeddings), self.vshift), self.vshift)
            for x in inputs
        ]

    def score(self, sample: ScoringSample) -> SyncResult:
        """The clip's result: the one `precompute` left for this very sample, else computed now."""
        held = self.pending.pop(sample.clip_id, None)
        (result,) = [held[1]] if held is not None and held[0] is sample else self.score_many([sample])
        if isinstance(result, StfbenchError):
            raise result
        return result

    def precompute(self, samples: Sequence[ScoringSample]) -> None:
        self.pending = {s.clip_id: (s, r) for s, r in zip(samples, self.score_many(samples), strict=True)}

    def update(self, sample: ScoringSample) -> dict[str, float]:
        result = self.last = self.score(sample)
        values = {"lse_c": result.lse_c, "lse_d": result.lse_d, "av_offset": float(result.av_offset)}
        for key, value in values.items():
            self.sums[key].add([value])
        self.clips += 1
        return values

    def compute(self) -> dict[str, float]:
        if not self.clips:
            return dict.fromkeys(self.keys, float("nan"))
        return {key: total.value / self.clips for key, total in self.sums.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": {key: total.state() for key, total in self.sums.items()}, "clips": self.clips}

    def merge(self, state: dict[str, Any]) -> None:
        for key, value in state["sums"].items():
            self.sums[key].merge(ExactSum(value))
        self.clips += int(state["clips"])

    def settings(self) -> dict[str, Any]:
        found = {
            "variant": self.variant,
            "weights": self.weights,
            "vshift": self.vshift,
            "mfcc": "python_speech_features 13 coefficients, 100 Hz, int16-scale audio",
            "windows": "5 frames / 20 MFCC steps, stride 1 frame",
            "input": "BGR 0-255, 224x224"
            + (", cv2.resize INTER_LINEAR of the whole frame" if self.variant == "fullframe224" else ""),
            "aggregate": "mean over clips (av_offset: mean signed offset)",
            "precision": self.precision
            + {"fp32": "", "bf16": " (torch autocast bfloat16)", "fp16": " (torch autocast float16)"}[self.precision],
        }
        if self.variant == "facecrop":
            found.update(detector=self.detector_label, crop_scale=self.crop_scale)
        return found
