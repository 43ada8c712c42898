"""`stfbench memory`: what a SyncTalkFace checkpoint's Audio-Lip Memory learned."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from stfbench.cli import options


def memory(
    checkpoint: str | None = options.checkpoint(),
    dataset: str = options.dataset(),
    out: Path = options.out("Folder for the PNGs and memory_report.json.", Path("memory-analysis")),
    root: Path | None = options.root(),
    split: str = typer.Option("test", "--split", help="Split whose clips are analysed (train, val, test)."),
    alignment: Path | None = typer.Option(
        None, "--alignment", help='Real data: JSON {"<clip id>": [[phoneme, start_s, end_s], ...]}.'
    ),
    limit_clips: int | None = options.limit_clips(),
    device: str | None = options.device(),
    no_progress: bool = options.no_progress(),
) -> None:
    """Slot usage histogram, address entropy, slot ↔ phoneme heat map + table, per-slot mouth shapes."""
    import numpy as np
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from stfbench.adapters.synctalkface import resolve_checkpoint
    from stfbench.audio import mel_windows, melspectrogram
    from stfbench.console import Progress, make_console
    from stfbench.datasets import clip_path, layout_of, prepare_clip, read_layout
    from stfbench.device import resolve_device
    from stfbench.errors import StfbenchError
    from stfbench.media import read_audio
    from stfbench.protocols import protocol_root
    from stfbench.reference_model import analysis
    from stfbench.reference_model.dataset import dataset_protocol
    from stfbench.reference_model.inference import frames_for_audio, load_generator, resize_frames

    console = make_console()
    protocol = dataset_protocol(dataset)
    checkpoint_path = resolve_checkpoint(checkpoint, protocol.dataset)
    model = load_generator(checkpoint_path, resolve_device(device)).model
    if model.memory is None:
        raise StfbenchError("the checkpoint has no memory (slots=0): nothing to analyse", checkpoint_path)
    base = protocol_root(protocol, root)
    layout = layout_of(protocol.dataset, base)
    ids = read_layout(protocol.dataset, base, split)[:limit_clips]
    alignments = _read_alignment(alignment) if alignment is not None else None
    if alignments is None and dataset != "synthetic":
        raise StfbenchError(f"--dataset {dataset}: pass --alignment FILE with phoneme timings for real data")
    windows, labels = [], []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=no_progress) as bar:
        task = bar.add_task(f"memory {split} clips", total=len(ids))
        for clip_id in ids:
            path = clip_path(layout, base, clip_id, split)
            audio = read_audio(path, protocol.sample_rate)
            phonemes = alignments.get(clip_id) if alignments is not None else _synthetic_phonemes(path)
            if phonemes is None:
                raise StfbenchError(f"no phoneme alignment for clip {clip_id}", alignment)
            num_frames = frames_for_audio(len(audio), protocol.sample_rate, protocol.fps)
            mel = melspectrogram(audio, protocol.sample_rate)
            windows.append(mel_windows(mel, num_frames, protocol.fps, model.config.mel_offset_frames))
            labels += _frame_labels(phonemes, num_frames, protocol.fps)
            bar.advance(task)
    report = analysis.analyse(analysis.key_addresses(model, np.concatenate(windows)), labels)
    out.mkdir(parents=True, exist_ok=True)
    first = prepare_clip(clip_path(layout, base, ids[0], split), protocol, clip_id=ids[0])
    crops = resize_frames(first.crops, model.config.image_size)
    mouths = analysis.slot_mouths(model, crops[0], crops[0])
    written = [
        analysis.plot_usage(report, out / "slot_usage.png"),
        analysis.plot_association(report, out / "phoneme_slots.png"),
        analysis.plot_slot_mouths(mouths, out / "slot_mouths.png"),
        analysis.write_report(report, out / "memory_report.json"),
    ]
    title = (
        f"{len(ids)} clips, {report.frames} frames, {report.slots_used}/{report.slot_usage.size} slots used, "
        f"entropy {report.entropy:.3f} / {report.max_entropy:.3f} nats"
    )
    table = Table(title=title)
    for column in ("phoneme", "frames", "top slot", "top weight"):
        table.add_column(column, justify="right")
    for row in report.table():
        table.add_row(escape(row["phoneme"]), str(row["frames"]), str(row["top_slot"]), f"{row['top_weight']:.3f}")
    console.print(table)
    for path in written:
        console.print(f"wrote {path}", markup=False, highlight=False)


def _synthetic_phonemes(path: Path) -> list[tuple[str, float, float]]:
    from stfbench.synth import load_ground_truth

    return load_ground_truth(path).phonemes


def _read_alignment(path: Path) -> dict[str, list[tuple[str, float, float]]]:
    from stfbench.errors import StfbenchError

    try:
        data = json.loads(Path(path).read_text())
        return {str(k): [(str(s), float(a), float(b)) for s, a, b in v] for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise StfbenchError(f"not a phoneme alignment file ({error})", path) from None


def _frame_labels(phonemes: list[tuple[str, float, float]], num_frames: int, fps: float) -> list[str]:
    """The phoneme sounding at each frame's centre time (i + 0.5) / fps ("sil" outside every interval)."""
    labels = []
    for index in range(num_frames):
        centre = (index + 0.5) / fps
        labels.append(next((s for s, start, end in phonemes if start <= centre < end), "sil"))
    return labels


def register(app: typer.Typer) -> None:
    app.command("memory")(memory)
