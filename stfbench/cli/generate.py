"""`stfbench generate`: dub a reference video with driving audio using a SyncTalkFace checkpoint."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options


def generate(
    checkpoint: str | None = options.checkpoint(),
    video: Path = typer.Option(..., "--video", help="Reference video (identity and head pose), 25 fps."),
    out: Path = options.out("Output video (.mp4, .mkv or .avi) with the driving audio.", ...),
    audio: Path | None = typer.Option(None, "--audio", help="Driving audio (default: the video's own track)."),
    protocol: str = options.dataset(),  # its face-crop spec and rates are used
    reference_frame: int = typer.Option(0, "--reference-frame", help="Frame of the video giving identity."),
    batch_size: int = typer.Option(32, "--batch-size", help="Frames generated per forward pass."),
    resample: bool = options.resample(),
    device: str | None = options.device(),
) -> None:
    """Write a talking-face video: the audio decides the length; the reference video loops or is trimmed.
    Only the generated lower face is blended in (feathered seam); the upper face stays the source's."""

    from stfbench.adapters.cropping import paste_lower_faces
    from stfbench.adapters.synctalkface import resolve_checkpoint
    from stfbench.audio import melspectrogram
    from stfbench.console import make_console
    from stfbench.device import resolve_device
    from stfbench.errors import StfbenchError, TooShortError
    from stfbench.media import read_clip, write_clip
    from stfbench.protocols import load_protocol
    from stfbench.reference_model.dataset import crop_faces
    from stfbench.reference_model.inference import (
        MIN_FRAMES,
        fit_length,
        frames_for_audio,
        generate_crops,
        load_generator,
    )

    spec = load_protocol(protocol)
    loaded = load_generator(resolve_checkpoint(checkpoint, spec.dataset), resolve_device(device))
    clip = read_clip(video, audio, fps=spec.fps, sample_rate=spec.sample_rate, resample=resample)
    num_frames = frames_for_audio(len(clip.audio), clip.sample_rate, clip.fps)
    if num_frames < MIN_FRAMES:
        raise TooShortError(
            f"the driving audio covers {num_frames} video frames; at least {MIN_FRAMES} needed", audio or video
        )
    if not 0 <= reference_frame < clip.num_frames:
        raise StfbenchError(f"--reference-frame {reference_frame}: the video has {clip.num_frames} frames")
    crops, boxes = crop_faces(clip.frames, spec.crop, video)  # (T_video, S, S, 3), (T_video, 4)
    frames, crops, boxes = (fit_length(a, num_frames) for a in (clip.frames, crops, boxes))
    reference = fit_length(crops[reference_frame : reference_frame + 1], num_frames)
    audio_samples = clip.audio[: round(num_frames * clip.sample_rate / clip.fps)]
    generated = generate_crops(
        loaded.model, crops, reference, melspectrogram(audio_samples, clip.sample_rate), clip.fps, batch_size
    )
    write_clip(out, paste_lower_faces(frames, generated, boxes), audio_samples, clip.fps, clip.sample_rate)
    make_console(stderr=True).print(
        f"wrote {out}: {num_frames} frames ({num_frames / clip.fps:.2f} s)", markup=False, highlight=False
    )


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
