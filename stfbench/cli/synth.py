"""`stfbench synth`: write the licence-free synthetic talking-face corpus."""

from __future__ import annotations

from pathlib import Path

import typer

from stfbench.cli import options


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        out: Path = options.out("Folder to write the corpus into (created; resumed if partial).", ...),
        speakers: int = typer.Option(4, "--speakers", help="Number of synthetic identities."),
        clips: int = typer.Option(10, "--clips", help="lrs2: clips per speaker; lrw: clips per word and split."),
        seed: int = options.seed(),
        layout: str = typer.Option("lrs2", "--layout", help="lrs2 (main/<spk>/<clip>.mp4) or lrw (<WORD>/<split>/)."),
        duration: float = typer.Option(3.0, "--duration", help="Clip length in seconds (lrs2; lrw is 29 frames)."),
        size: int = typer.Option(160, "--size", help="Frame width and height in pixels (even, ≥ 96)."),
        words: int = typer.Option(10, "--words", help="lrw: number of words (folders) drawn from the lexicon."),
        workers: int = options.workers(),
        no_progress: bool = options.no_progress(),
    ) -> None:
        """Write a synthetic corpus: formant speech, phoneme-driven faces, exact phoneme/landmark ground truth. The
        same --seed and options give byte-identical files."""

        from stfbench.console import make_console
        from stfbench.synth import generate_corpus

        info = generate_corpus(
            out,
            speakers=speakers,
            clips=clips,
            seed=seed,
            layout=layout,
            duration_s=duration,
            image_size=size,
            words=words,
            workers=workers,
            progress=not no_progress,
        )
        splits = ", ".join(f"{count} {split}" for split, count in info.splits.items())
        make_console().print(
            f"{info.clips} clips ({splits}) in {info.root} — {info.generated} generated, {info.reused} reused, "
            f"{info.seconds:.1f} s",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
