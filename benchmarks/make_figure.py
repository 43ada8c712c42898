"""Sample figure of the synthetic protocol's default SyncTalkFace checkpoint: docs/img/synctalkface_samples.png.

    python benchmarks/make_figure.py [--checkpoint ID_OR_FILE] [--clips 0,10,20,30] [--out PNG]

Rows are test clips (by default the first clip of each of the 4 speakers). For three frames of each clip
(at 1/4, 1/2 and 3/4 of its length, skipping the reference frame) it shows the ground-truth crop beside the
generated crop, in the crop space the runner scores (96×96, nearest-neighbour so pixel artefacts show);
the last two columns are the ground-truth source frame and the same frame as `stfbench generate` pastes
it (generated lower face blended into the full-resolution frame). Generation follows `stfbench run`
(reference rule, per-clip seed), so the figure is deterministic; the checkpoint is whatever the weight
registry names as the protocol's default unless `--checkpoint` is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "synctalkface_samples.png"


def chosen_frames(scored: np.ndarray) -> list[int]:
    """Output frames at 1/4, 1/2 and 3/4 of the clip, each moved to the next scored frame (not the reference)."""
    frames = []
    for fraction in (0.25, 0.5, 0.75):
        index = int(fraction * len(scored))
        while not scored[index % len(scored)]:
            index += 1
        frames.append(index % len(scored))
    return frames


def main() -> None:
    from protocol_samples import protocol_samples

    from stfbench.adapters.cropping import paste_lower_faces
    from stfbench.media import read_clip

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="file or registry id (default: the protocol's)")
    parser.add_argument("--clips", default="0,10,20,30", help="indices of test clips in protocol order")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    indices = [int(i) for i in args.clips.split(",")]
    samples, provenance = protocol_samples("synctalkface", args.checkpoint, clip_indices=indices, device=args.device)
    columns = 8
    figure, axes = plt.subplots(len(samples), columns, figsize=(1.5 * columns, 1.6 * len(samples)), squeeze=False)
    for row, sample in zip(axes, samples, strict=True):
        frames = chosen_frames(sample.scored)
        tiles, titles = [], []
        for t in frames:
            tiles += [sample.gt[t], sample.generated[t]]
            titles += [f"GT crop t={t}", f"generated t={t}"]
        t = frames[1]
        source = read_clip(sample.source_path, require_audio=False).frames[sample.frame_index[t]]  # (H, W, 3)
        pasted = paste_lower_faces(source[None], sample.generated[t : t + 1], sample.boxes[t : t + 1])[0]
        tiles += [source, pasted]
        titles += [f"GT frame t={t}", "generate (pasted)"]
        for axis, tile, title in zip(row, tiles, titles, strict=True):
            axis.imshow(tile, interpolation="nearest")
            axis.set_title(title, fontsize=7)
            axis.set_xticks([])
            axis.set_yticks([])
        row[0].set_ylabel(sample.clip_id.replace("/", "\n"), fontsize=7)
    checkpoint = f"{Path(provenance['checkpoint']).name} (SHA-256 {provenance['checkpoint_sha256'][:12]}…)"
    figure.suptitle(f"SyncTalkFace on synthetic test clips: {checkpoint}", fontsize=9)
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100, metadata={"Software": None})  # no version stamp: same bytes on rerun
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
