"""Media I/O round trips (lossless exact, AAC length and alignment), rate policy and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
from PIL import Image
from skimage.data import astronaut

from stfbench.errors import DecodeError, NoAudioError, RateError
from stfbench.media import iter_video_frames, probe_video, read_audio, read_clip, write_clip

SR = 16000


def _frames(count: int, height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def _smooth_frames(count: int) -> np.ndarray:
    """Natural-image frames (a drifting astronaut crop) that H.264 codes with high fidelity."""
    image = np.asarray(Image.fromarray(astronaut()).resize((128, 128)))
    return np.stack([np.roll(image, shift=t, axis=1)[16:80, 16:96] for t in range(count)])


def _tone(seconds: float, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _write_wav(path: Path, audio: np.ndarray, rate: int = SR) -> Path:
    scipy.io.wavfile.write(path, rate, np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16))
    return path


def test_mkv_ffv1_round_trip_is_bit_exact(tmp_path: Path) -> None:
    frames, audio = _frames(12), _tone(12 / 25)
    path = write_clip(tmp_path / "clip.mkv", frames, audio)
    clip = read_clip(path)
    np.testing.assert_array_equal(clip.frames, frames)
    assert len(clip.audio) == len(audio)
    np.testing.assert_allclose(clip.audio, audio, atol=1.5 / 32767)  # FLAC stores int16 samples
    assert clip.fps == 25.0 and clip.sample_rate == SR


def test_probe_estimates_mkv_frame_count_from_duration(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mkv", _frames(37), _tone(37 / 25))
    info = probe_video(path)
    assert (info.num_frames, info.fps, info.width, info.height) == (37, 25.0, 64, 48)
    assert info.has_audio and info.audio_rate == SR


def test_probe_without_audio(tmp_path: Path) -> None:
    info = probe_video(write_clip(tmp_path / "silent.mp4", _frames(5), None))
    assert info.num_frames == 5 and not info.has_audio and info.audio_rate is None


def test_mp4_aac_keeps_length_and_alignment(tmp_path: Path) -> None:
    frames = _smooth_frames(25)
    audio = np.zeros(SR, np.float32)
    audio[8000], audio[8001] = 0.9, -0.9  # a click at 0.5 s
    path = write_clip(tmp_path / "clip.mp4", frames, audio)
    clip = read_clip(path)
    assert clip.frames.shape == frames.shape
    mse = np.mean((clip.frames.astype(np.float64) - frames) ** 2)
    assert 10 * np.log10(255**2 / mse) > 30  # crf 18 + 4:2:0 chroma on a small natural image (measured 33 dB)
    assert len(clip.audio) == len(audio)  # AAC priming and end padding trimmed
    assert abs(int(np.argmax(np.abs(clip.audio))) - 8000) <= 2


def test_raw_mp3_keeps_alignment(tmp_path: Path) -> None:
    """FFmpeg's MP3 demuxer declares the encoder delay as the stream's start time: not a late start."""
    from fractions import Fraction

    import av

    audio = np.zeros(SR, np.float32)
    audio[8000], audio[8001] = 0.9, -0.9  # a click at 0.5 s
    path = tmp_path / "speech.mp3"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=SR, layout="mono")
        frame = av.AudioFrame.from_ndarray(audio[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SR, 0, Fraction(1, SR)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    decoded = read_audio(path)
    assert abs(len(decoded) - len(audio)) < 1152  # at most the last partial MP3 frame
    assert abs(int(np.argmax(np.abs(decoded))) - 8000) <= 2  # was 1105 samples late


def test_avi_round_trip(tmp_path: Path) -> None:
    frames, audio = _smooth_frames(10), _tone(0.4)
    clip = read_clip(write_clip(tmp_path / "clip.avi", frames, audio))
    assert clip.frames.shape == frames.shape
    np.testing.assert_allclose(clip.audio, audio, atol=1.5 / 32767)  # PCM s16


def test_iter_video_frames_streams_the_same_frames(tmp_path: Path) -> None:
    frames = _frames(6)
    path = write_clip(tmp_path / "clip.mkv", frames, None)
    streamed = list(iter_video_frames(path))
    assert len(streamed) == 6
    np.testing.assert_array_equal(np.stack(streamed), frames)


def test_separate_audio_overrides_the_track(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mkv", _frames(10), _tone(0.4, 440))
    override = _tone(0.4, 1000)
    clip = read_clip(path, audio_path=_write_wav(tmp_path / "other.wav", override))
    np.testing.assert_allclose(clip.audio, override, atol=1.5 / 32767)


def test_image_folder_with_audio(tmp_path: Path) -> None:
    frames = _frames(11)
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(frames):  # natural order: 2.png before 10.png
        Image.fromarray(frame).save(folder / f"{index}.png")
    _write_wav(folder / "audio.wav", _tone(0.44))
    clip = read_clip(folder)
    np.testing.assert_array_equal(clip.frames, frames)
    assert len(clip.audio) == round(0.44 * SR)


def test_image_folder_without_audio(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(_frames(1)[0]).save(folder / "0001.png")
    with pytest.raises(NoAudioError, match="no audio"):
        read_clip(folder)
    assert read_clip(folder, require_audio=False).audio.size == 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(DecodeError, match="no image frames"):
        read_clip(tmp_path / "empty")


def test_video_without_audio_track(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "silent.mkv", _frames(4), None)
    with pytest.raises(NoAudioError) as raised:
        read_clip(path)
    assert raised.value.status == "no-audio" and "silent.mkv" in str(raised.value)
    assert read_clip(path, require_audio=False).frames.shape[0] == 4


def test_wrong_fps_is_an_error_unless_resampling(tmp_path: Path) -> None:
    frames = _frames(20)
    path = write_clip(tmp_path / "fast.mkv", frames, _tone(0.4), fps=50)
    with pytest.raises(RateError, match="50 fps") as raised:
        read_clip(path)
    assert raised.value.status == "wrong-rate"
    clip = read_clip(path, resample=True)
    np.testing.assert_array_equal(clip.frames, frames[::2])  # nearest-frame retiming to 25 fps


def test_wrong_sample_rate_is_an_error_unless_resampling(tmp_path: Path) -> None:
    wav = _write_wav(tmp_path / "a.wav", _tone(1.0), rate=22050)  # 1 s of samples declared at 22.05 kHz
    with pytest.raises(RateError, match="22050 Hz"):
        read_audio(wav)
    resampled = read_audio(wav, resample=True)
    assert abs(len(resampled) - round(SR * SR / 22050)) <= 2


@pytest.mark.parametrize("suffix", [".mkv", ".avi"])
def test_truncated_file_is_a_decode_error(tmp_path: Path, suffix: str) -> None:
    path = write_clip(tmp_path / f"clip{suffix}", _frames(50), _tone(2.0))
    data = path.read_bytes()
    truncated = tmp_path / f"truncated{suffix}"
    truncated.write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(DecodeError, match="truncated"):
        read_clip(truncated)


@pytest.mark.parametrize(("name", "content"), [("garbage.mp4", b"not a video" * 50), ("empty.mp4", b"")])
def test_corrupt_and_empty_files_are_decode_errors(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DecodeError) as raised:
        read_clip(path)
    assert raised.value.status == "decode-error" and name in str(raised.value)
    with pytest.raises(DecodeError):
        probe_video(path)


def test_truncated_mp4_is_a_decode_error(tmp_path: Path) -> None:
    data = write_clip(tmp_path / "clip.mp4", _frames(10), _tone(0.4)).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(DecodeError):
        read_clip(tmp_path / "cut.mp4")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="file not found"):
        read_clip(tmp_path / "nope.mp4")
    with pytest.raises(DecodeError, match="file not found"):
        read_audio(tmp_path / "nope.wav")


def test_write_clip_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_clip(tmp_path / "a.mp4", np.zeros((2, 8, 8, 3), np.float32), None)
    with pytest.raises(ValueError, match="unsupported container"):
        write_clip(tmp_path / "a.mov", _frames(2), None)
    assert not list(tmp_path.iterdir())


def test_write_clip_is_byte_reproducible(tmp_path: Path) -> None:
    frames, audio = _smooth_frames(12), _tone(0.48)
    for suffix in (".mp4", ".mkv", ".avi"):
        first = write_clip(tmp_path / f"a{suffix}", frames, audio).read_bytes()
        write_clip(tmp_path / "other.mp4", frames[::-1].copy(), audio)  # encoder state between calls must not leak
        assert write_clip(tmp_path / f"b{suffix}", frames, audio).read_bytes() == first, suffix


def test_mp4_needs_even_frame_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_clip(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), np.uint8), None)
