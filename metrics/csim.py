"""CSIM — identity similarity of generated frames to the reference frame (↑; cosine, [−1, 1]; 1 = same
embedding).

Per generated frame: cosine similarity of the ArcFace embeddings (arcface_torch iResNet, 512-d,
L2-normalised; `stfbench.metrics.networks.arcface`) of the frame and of its identity reference frame, each
face aligned to 112×112 with InsightFace's 5-point ArcFace template from the LMD landmarker's 68 points.
The reference frame is the one the model was handed for identity (`ScoringSample.reference_crops`: the
protocol's reference rule in `run`); `score` knows no reference and uses the first ground-truth frame.
Clip value = mean over generated frames with a face; dataset value = mean over clips. Frames without a face
are counted (`csim_frames_no_face`), not scored; a reference frame or clip without one fails with `no-face`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from stfbench.errors import NoFaceError
from stfbench.metrics.base import Metric, MismatchError, ScoringSample
from stfbench.metrics.exact_sum import ExactSum
from stfbench.metrics.networks.arcface import SIZE, align_face, embed
from stfbench.metrics.networks.landmarks import Landmarker


class ArcFaceAligner:
    """Landmarks + ArcFace alignment of frames: a picklable clip stage (no network beyond the landmarker)."""

    def __init__(self, landmarker: Landmarker, image_size: int | None = None) -> None:
        self.landmarker = landmarker
        self.image_size = image_size

    def __call__(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(aligned (n, 112, 112, 3) uint8 faces, found (T,) bool) of uint8 RGB frames (T, S, S, 3)."""
        import cv2

        faces, found = [], []
        for frame in frames:
            if self.image_size is not None and frame.shape[:2] != (self.image_size, self.image_size):
                frame = cv2.resize(frame, (self.image_size, self.image_size), interpolation=cv2.INTER_LINEAR)
            points = self.landmarker(frame)
            found.append(points is not None)
            if points is not None:
                faces.append(align_face(frame, points))
        aligned = np.stack(faces) if faces else np.zeros((0, SIZE, SIZE, 3), np.uint8)
        return aligned, np.array(found, bool)


class _PredStage:
    """CSIM's clip stage: the generated frames' aligned faces."""

    def __init__(self, aligner: ArcFaceAligner) -> None:
        self.aligner = aligner

    def __call__(self, sample: ScoringSample) -> tuple[np.ndarray, np.ndarray]:
        return self.aligner(sample.pred_crops)


def reference_frames(sample: ScoringSample) -> tuple[np.ndarray, np.ndarray]:
    """(distinct reference frames (R, S, S, 3), index (T,) of each generated frame's reference among them)."""
    refs = sample.reference_crops
    if refs is None:
        if sample.gt_crops is None or not len(sample.gt_crops):
            raise MismatchError("CSIM needs a reference frame (score: the first ground-truth frame)", sample.clip_id)
        refs = sample.gt_crops[:1]
    if len(refs) == 1 or all(np.array_equal(refs[0], r) for r in refs[1:]):
        return refs[:1], np.zeros(len(sample.pred_crops), np.int64)
    if len(refs) != len(sample.pred_crops):
        raise MismatchError(f"CSIM: {len(refs)} reference frames for {len(sample.pred_crops)} frames", sample.clip_id)
    return refs, np.arange(len(refs))


class CSIM(Metric):
    keys = ("csim",)
    count_keys: ClassVar[dict[str, str]] = {"csim_frames_no_face": "generated frames without a face (not in CSIM)"}
    observed_settings = ("clips", "frames_scored", "frames_no_face")

    def __init__(
        self,
        model: torch.nn.Module,
        aligner: ArcFaceAligner,
        device: torch.device | str = "cpu",
        label: str = "arcface",
        batch_size: int = 32,
        provenance: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.aligner = aligner
        self.device = torch.device(device)
        self.label = label
        self.batch_size = batch_size
        self.weights = provenance or {}
        self.identity = identity
        self.reset()

    @property
    def name(self) -> str:
        return f"csim[{self.label}]"

    def reset(self) -> None:
        self.total = ExactSum()
        self.clips = 0
        self.frames = 0
        self.frames_no_face = 0

    def clip_stage(self) -> Callable[[ScoringSample], tuple[np.ndarray, np.ndarray]]:
        return _PredStage(self.aligner)

    def gt_identity(self) -> dict[str, Any] | None:
        if self.identity is None:
            return None
        return {"metric": "csim", "embedding": self.identity, "image_size": self.aligner.image_size}

    def reference_embeddings(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """`embedding` (R, 512) of reference frames (R, S, S, 3) (zeros where no face) and `found` (R,) bool:
        the reference side, cached per clip."""
        faces, found = self.aligner(frames)
        embedding = np.zeros((len(frames), 512), np.float32)
        embedding[found] = embed(self.model, faces, self.device, self.batch_size)
        return {"embedding": embedding, "found": found}

    def similarities(self, sample: ScoringSample) -> tuple[np.ndarray, int]:
        """Cosine similarity (n,) of every generated frame with a face (and a reference face) to its reference,
        and the number of generated frames without a face."""
        refs, index = reference_frames(sample)
        side = self.cached_gt(refs, self.reference_embeddings)
        if not side["found"].any():
            raise NoFaceError("CSIM: no face in the reference frame", sample.clip_id)
        faces, found = self.staged(sample, _PredStage(self.aligner))  # (n, 112, 112, 3), (T,)
        pred = embed(self.model, faces, self.device, self.batch_size)  # (n, 512)
        ref_index = index[found]
        usable = side["found"][ref_index]  # (n,) frames whose reference has a face
        cosine = np.sum(pred[usable] * side["embedding"][ref_index[usable]], axis=1, dtype=np.float64)
        return cosine, int(len(found) - found.sum())

    def update(self, sample: ScoringSample) -> dict[str, float]:
        cosine, missing = self.similarities(sample)
        if not len(cosine):
            raise NoFaceError(f"CSIM: no generated frame with a face ({missing} frames)", sample.clip_id)
        value = float(cosine.mean())
        self.total.add([value])
        self.clips += 1
        self.frames += len(cosine)
        self.frames_no_face += missing
        return {"csim": value, "csim_frames_no_face": float(missing)}

    def compute(self) -> dict[str, float]:
        return {"csim": self.total.value / self.clips if self.clips else float("nan")}

    def state_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.state(),
            "clips": self.clips,
            "frames": self.frames,
            "frames_no_face": self.frames_no_face,
        }

    def merge(self, state: dict[str, Any]) -> None:
        self.total.merge(ExactSum(state["total"]))
        self.clips += int(state["clips"])
        self.frames += int(state["frames"])
        self.frames_no_face += int(state["frames_no_face"])

    def settings(self) -> dict[str, Any]:
        return {
            "embedding": "arcface_torch iResNet, 512-d, L2-normalised",
            "alignment": "68-point landmarks -> 5 points -> ArcFace template, 112x112 similarity warp",
            "input": "RGB, (x/255 - 0.5)/0.5",
            "reference": "the model's identity reference frame (score: first ground-truth frame)",
            "image_size": self.aligner.image_size,
            "aggregate": "mean cosine over frames with a face per clip, mean over clips",
            "clips": self.clips,
            "frames_scored": self.frames,
            "frames_no_face": self.frames_no_face,
            "weights": self.weights,
        }
