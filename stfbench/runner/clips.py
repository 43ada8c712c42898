"""Where the runner gets clips from: the foundation's protocol items and prepared (cropped, cached) clips.

`ProtocolClips` is the default; tests and unusual setups can pass any object with the same four methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class ProtocolClips:
    """Items, preparation and prepared clips of one protocol under one dataset root."""

    def __init__(
        self,
        protocol: Any,
        root: str | Path | None = None,
        list_file: str | Path | None = None,
        *,
        workers: int = 1,
        show_progress: bool = True,
    ) -> None:
        self.protocol = protocol
        self.root = None if root is None else Path(root)
        self.list_file = None if list_file is None else Path(list_file)
        self.workers = workers  # preparation processes (0: one per CPU core)
        self.show_progress = show_progress

    def items(self) -> list:
        """Every item of the protocol, in protocol order."""
        return list(self.protocol.items(self.root, list_file=self.list_file))

    def prepare(self, items: list) -> None:
        """Detect, crop and cache what `items` need (cached across runs by the foundation)."""
        from stfbench.datasets import prepare_protocol

        prepare_protocol(
            self.protocol, self.root, progress=self.show_progress, workers=self.workers, list_file=self.list_file
        )

    def load(self, clip_id: str) -> Any:
        """The prepared clip (`crops`, `boxes`, `audio`, `frame_size`, `source_path`); raises a StfbenchError."""
        from stfbench.datasets import load_prepared

        return load_prepared(self.protocol, clip_id)

    def source_frames(self, prepared: Any) -> np.ndarray:
        """The whole decoded frames (T, H, W, 3) of a prepared clip's source video."""
        from stfbench.media import read_clip

        clip = read_clip(
            prepared.source_path, fps=self.protocol.fps, sample_rate=self.protocol.sample_rate, require_audio=False
        )
        return clip.frames
