"""CPBD sharpness: its definition on images whose blur is known, and the streaming metric."""

from __future__ import annotations

import itertools
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from stfbench.errors import StfbenchError
from stfbench.metrics import ScoringSample, build_metrics
from stfbench.metrics.cpbd import CPBD, cpbd, edge_widths


def _camera(size: int = 256) -> np.ndarray:
    from skimage import data

    return data.camera()[128 : 128 + size, 128 : 128 + size].astype(np.float64)  # (size, size) natural image


def _step(blur: float = 0.0) -> np.ndarray:
    """(128, 128) a vertical black-to-white step edge at column 80, Gaussian-blurred by `blur` px."""
    image = np.zeros((128, 128))
    image[:, 80:] = 255.0
    return np.round(gaussian_filter(image, blur, mode="nearest")) if blur else image


def test_flat_image_and_a_sharp_step_edge():
    assert cpbd(np.full((128, 128), 117.0)) == 0.0  # no edge: nothing is detected as sharp
    assert cpbd(_step()) == 1.0  # a one-pixel step: width 2 < the 3 px just-noticeable width everywhere
    assert cpbd(_step(4.0)) == 0.0  # a wide ramp: every edge wider than noticeable


def test_edge_width_is_the_extent_of_the_monotone_ramp():
    image = np.zeros((9, 40))
    image[:, 20:] = 200.0
    image[:, 15:20] = np.linspace(0, 200, 7)[1:6]  # a rising ramp over columns 14..20
    widths = edge_widths(image)
    row = widths[4][widths[4] > 0]
    assert row.size >= 1 and set(row) == {6.0}  # 20 − 14: from the last dark pixel to the first bright one
    assert not widths[0].any() and not widths[-1].any()  # border rows are not measured


@pytest.mark.parametrize("image", [_camera(), _camera(96)], ids=["camera256", "crop96"])
def test_cpbd_decreases_as_gaussian_blur_increases(image):
    values = [cpbd(np.round(gaussian_filter(image, s)) if s else image) for s in (0, 0.5, 1.0, 1.5, 2.0, 3.0)]
    assert all(a > b or a == b == 0 for a, b in itertools.pairwise(values)), values
    assert values[0] > 0.3 and values[-1] < 0.05  # sharp photograph vs heavily blurred


def test_small_images_are_refused():
    with pytest.raises(StfbenchError, match="at least 64"):
        cpbd(np.zeros((48, 48)))


def _clip(seed: int, blur: float) -> np.ndarray:
    """(4, 96, 96, 3) uint8 gray frames: regions of the camera photograph, blurred by `blur` px."""
    image = _camera(256)
    frames = [np.round(gaussian_filter(image[8 * t : 8 * t + 96, 20 * seed :][:, :96], blur)) for t in range(4)]
    return np.repeat(np.stack(frames).astype(np.uint8)[..., None], 3, axis=3)  # (4, 96, 96, 3)


def test_metric_means_clips_merges_halves_and_names_its_sampling():
    clips = [ScoringSample(f"c{i}", _clip(i, blur)) for i, blur in enumerate((0.0, 1.0, 2.0, 0.5))]
    whole, first, second = CPBD(), CPBD(), CPBD()
    per_clip = [whole.update(s)["cpbd"] for s in clips]
    for s in clips[:2]:
        first.update(s)
    for s in clips[2:]:
        second.update(s)
    first.merge(second.state_dict())
    assert first.compute() == whole.compute()
    assert whole.compute()["cpbd"] == pytest.approx(np.mean(per_clip), abs=1e-15)
    assert per_clip[0] > per_clip[1] > per_clip[2]
    restored = CPBD()
    restored.merge(pickle.loads(pickle.dumps(whole.state_dict())))
    assert restored.compute() == whole.compute()
    assert CPBD().name == "cpbd[crop,gray]" and CPBD(2).name == "cpbd[crop,gray,step2]"
    assert [m.name for m in build_metrics("cpbd", {"cpbd": {"frame_step": 3}})] == ["cpbd[crop,gray,step3]"]


def test_clip_stage_runs_in_a_worker_process():
    import multiprocessing

    metric = CPBD()
    sample = ScoringSample("c0", _clip(0, 1.0))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        staged = pool.submit(metric.clip_stage(), sample).result()
    sample.staged[metric.name] = staged
    assert metric.update(sample) == CPBD().update(ScoringSample("c0", _clip(0, 1.0)))
