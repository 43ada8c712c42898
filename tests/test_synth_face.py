"""Faces: dlib's detection and mouth-landmark floors, base landmarks, mesh validity, identities, mouth paint."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from stfbench.media import read_clip
from stfbench.synth import load_ground_truth
from stfbench.synth.geometry import apply_affine, articulate, head_pose_matrices
from stfbench.synth.identity import sample_identity
from stfbench.synth.landmarker import MOUTH, OUTER_EYE_CORNERS, detect_landmarks
from stfbench.synth.portraits import BASE_LANDMARKS, IBUG_MIRROR, PORTRAITS, load_image, load_portrait
from stfbench.synth.render import paint_mouth, prepare_identity, render_frames


def _inner_gap(landmarks: np.ndarray) -> np.ndarray:
    """Mean vertical opening between the inner lips, (...,) px."""
    return (landmarks[..., [67, 66, 65], 1] - landmarks[..., [61, 62, 63], 1]).mean(axis=-1)


@pytest.fixture(scope="module")
def dlib_on_corpus(synthetic_corpus: Path) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(ground truth (68, 2), dlib landmarks or None) for every decoded frame of the small corpus."""
    pairs = []
    for video in sorted(synthetic_corpus.glob("main/*/*.mp4")):
        truth = load_ground_truth(video)
        for image, landmarks in zip(read_clip(video).frames, truth.landmarks, strict=True):
            pairs.append((landmarks, detect_landmarks(image)))
    return pairs


def test_dlib_detection_and_mouth_error_floors(dlib_on_corpus) -> None:
    found = [(truth, seen) for truth, seen in dlib_on_corpus if seen is not None]
    detection_rate = len(found) / len(dlib_on_corpus)
    errors = [
        np.linalg.norm(seen[MOUTH] - truth[MOUTH], axis=1).mean()
        / np.linalg.norm(truth[OUTER_EYE_CORNERS[0]] - truth[OUTER_EYE_CORNERS[1]])
        for truth, seen in found
    ]
    print(f"dlib on {len(dlib_on_corpus)} frames: detection {detection_rate:.3f}, mouth error {np.mean(errors):.4f}")
    assert len(dlib_on_corpus) == 300
    assert detection_rate >= 0.95
    assert np.mean(errors) <= 0.05


def test_dlib_sees_the_mouth_open_when_the_truth_opens_it(dlib_on_corpus) -> None:
    truth_gap = np.array([_inner_gap(truth) for truth, seen in dlib_on_corpus if seen is not None])
    dlib_gap = np.array([_inner_gap(seen) for _, seen in dlib_on_corpus if seen is not None])
    assert truth_gap.max() > 5.0  # the small corpus does open the mouth
    assert np.corrcoef(truth_gap, dlib_gap)[0, 1] > 0.8


@pytest.mark.parametrize("name", PORTRAITS)
def test_base_landmarks_are_what_dlib_finds(name: str) -> None:
    found = detect_landmarks(load_image(name))
    assert found is not None
    assert np.abs(found - np.array(BASE_LANDMARKS[name])).max() <= 1.0


def test_mirror_permutation_swaps_sides() -> None:
    np.testing.assert_array_equal(IBUG_MIRROR[IBUG_MIRROR], np.arange(68))
    plain, mirrored = load_portrait("astronaut"), load_portrait("astronaut", mirrored=True)
    width = plain.image.shape[1]
    # the subject's right outer eye corner (36) stays on the image's left after mirroring
    assert mirrored.landmarks[36, 0] < mirrored.landmarks[45, 0]
    assert mirrored.landmarks[36, 0] == pytest.approx(width - 1 - plain.landmarks[45, 0])
    assert detect_landmarks(np.ascontiguousarray(mirrored.image)) is not None


def test_mesh_never_folds_and_covers_the_frame() -> None:
    extremes = np.array([[j, s, p, c] for j in (0, 1) for s in (-1, 1) for p in (0, 1) for c in (0, 1)], float)
    for index in range(8):
        prepared = prepare_identity(sample_identity(index // 4, index), 160)
        triangles = prepared.warp.triangles
        landmarks = articulate(prepared.neutral, extremes, np.linspace(0, 1, len(extremes)))  # (16, 68, 2)
        poses = np.array([[0.07, 0.04, 4.0, -4.0], [-0.07, -0.04, -4.0, 4.0]] * 8)  # 2.5× the MV amplitude
        matrices = head_pose_matrices(poses, prepared.neutral[30])
        reference = None
        for frame, matrix in zip(landmarks, matrices, strict=True):
            moving = apply_affine(matrix, np.concatenate([frame, prepared.moving_extras]))
            points = np.concatenate([moving, prepared.fixed_extras])[triangles]  # (K, 3, 2)
            edge1, edge2 = points[:, 1] - points[:, 0], points[:, 2] - points[:, 0]
            signed = edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0]  # (K,)
            sign = np.sign(signed)
            if reference is None:
                reference = sign
            solid = np.abs(signed) > 1e-3  # collapsed inner-lip triangles of a closed mouth have no area
            assert np.all(sign[solid] == reference[solid]), f"identity {index}: a triangle folds over"
        ring = prepared.fixed_extras.astype(np.float32)
        for corner in [(0, 0), (159, 0), (0, 159), (159, 159)]:
            assert cv2.pointPolygonTest(ring, corner, False) > 0


def test_identities_differ_and_mouth_interior_is_dark() -> None:
    pose = np.zeros((2, 4))
    closed_then_open = np.array([[0.9, 0.0, 0.0, 1.0], [0.9, 0.0, 0.0, 0.0]])
    firsts = []
    for index in range(4):
        frames, landmarks = render_frames(sample_identity(0, index), closed_then_open, np.zeros(2), pose)
        firsts.append(frames[0].astype(float))
        mask = np.zeros((160, 160), np.uint8)
        cv2.fillPoly(mask, [np.round(landmarks[1, 60:68]).astype(np.int32)], 1)
        closed, opened = (np.median(frames[t][mask.astype(bool)].mean(axis=1)) for t in (0, 1))
        assert mask.sum() > 30 and opened < 0.6 * closed
    for a in range(4):
        for b in range(a + 1, 4):
            assert np.abs(firsts[a] - firsts[b]).mean() > 10.0


def test_closed_mouth_is_not_painted() -> None:
    frame = np.full((160, 160, 3), 200, np.uint8)
    landmarks = np.zeros((68, 2))
    landmarks[60:68] = [[60, 100], [70, 98], [80, 98], [90, 98], [100, 100], [90, 98], [80, 98], [70, 98]]
    paint_mouth(frame, landmarks)
    assert (frame == 200).all()
    landmarks[65:68, 1] += 12.0
    paint_mouth(frame, landmarks)
    assert frame[104, 80].mean() < 100
