"""Request construction: the audio decides the length, the target loops, the reference follows the rule."""

from __future__ import annotations

import numpy as np
from fixtures.runner_fakes import FakeClips, fake_protocol

from stfbench.runner.requests import build_request, clip_seed, output_length


def test_output_length_follows_the_audio() -> None:
    assert output_length(16000, 81, 25.0, 16000) == 25  # 1 s of audio → 25 frames
    assert output_length(16000 + 639, 84, 25.0, 16000) == 25  # partial frames are dropped
    assert output_length(16000, 16, 25.0, 16000) == 5  # capped by mel windows starting inside the mel


def test_longer_audio_loops_the_target_and_reference_rule_applies() -> None:
    clips = FakeClips()
    item = clips.items()[0]
    target = clips.load(item.video_id)  # 8 frames
    audio = np.zeros(20 * 640, np.float32)  # 20 frames of audio
    request, frame_index = build_request(fake_protocol(reference="seeded-frame"), item, target, audio, {})
    assert request.num_frames == 20 and frame_index.tolist() == [t % 8 for t in range(20)]
    assert np.array_equal(request.target_crops[8], target.crops[0])
    assert (request.reference_crops == request.reference_crops[0]).all()  # one seeded frame, repeated
    chosen = int(np.flatnonzero([np.array_equal(request.reference_crops[0], c) for c in target.crops])[0])
    assert chosen == fake_protocol(reference="seeded-frame").reference.indices(item.item_id, 8)[0]
    same, _ = build_request(fake_protocol(reference="same-frame"), item, target, audio, {})
    assert np.array_equal(same.reference_crops, same.target_crops)
    assert request.extras["boxes"].shape == (20, 4) and request.mel.shape[0] == 80


def test_clip_seed_depends_on_seed_and_item_only() -> None:
    assert clip_seed(0, "a") == clip_seed(0, "a") != clip_seed(1, "a") != clip_seed(0, "b")
