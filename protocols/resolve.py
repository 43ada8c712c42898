"""Resolve a protocol's clip list under a dataset root, verify its pins, and apply the pairing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stfbench.datasets import layout
from stfbench.errors import ProtocolError
from stfbench.hashing import canonical_ids_sha256, sha256_file
from stfbench.protocols.spec import Protocol, ProtocolItem


@dataclass(frozen=True)
class ResolvedClipList:
    """The clip list as found: `pairs` is (audio_id, video_id) per item (audio = video for reconstruction).

    sha256 is computed the protocol's way; `pinned` says whether the protocol pins it (False for the
    synthetic protocol until its hash is pinned: results then record the computed value).
    """

    root: Path
    layout: str
    ids: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...] | None
    sha256: str
    source: Path | None
    pinned: bool

    @property
    def clip_ids(self) -> list[str]:
        """Every clip the protocol reads (video and audio sources), sorted."""
        if self.pairs is None:
            return sorted(self.ids)
        return sorted({clip for pair in self.pairs for clip in pair})


def protocol_root(protocol: Protocol, root: Path | str | None = None) -> Path:
    """The dataset root; for the synthetic protocol without one, the generated corpus (made on first use)."""
    if protocol.dataset != "synthetic":
        return layout.require_root(protocol.dataset, root)
    if root is not None:
        return layout.require_root("synthetic", root)
    try:
        from stfbench.synth import ensure_corpus
    except ImportError as error:
        raise ProtocolError(f"the synthetic corpus generator is not available ({error})") from None
    spec = protocol.synthetic
    assert spec is not None  # the loader guarantees it for dataset = synthetic
    return Path(
        ensure_corpus(
            speakers=spec.speakers,
            clips=spec.clips,
            seed=spec.seed,
            layout=spec.layout,
            duration_s=spec.duration_s,
            image_size=spec.image_size,
        )
    )


def resolve_clip_list(
    protocol: Protocol, root: Path | str | None = None, *, list_file: Path | str | None = None, verify: bool = True
) -> ResolvedClipList:
    """Read the clip list (list file, layout or pairs file) and check it against the protocol's count and hash
    (`verify=False` only reads it, for reporting what is there)."""
    base = protocol_root(protocol, root)
    shape = layout.layout_of(protocol.dataset, base)
    spec = protocol.clip_list
    source: Path | None = None
    pairs: list[tuple[str, str]] | None = None
    if spec.source == "layout" and list_file is None:
        ids = layout.read_layout(protocol.dataset, base, protocol.split)
    elif spec.source == "layout":  # an explicit id list (e.g. LRW's test ids) names clips missing from the tree
        source = Path(list_file)
        if not source.is_file():
            raise ProtocolError("list file not found", source)
        ids = [layout.normalise_id(shape, i, protocol.split) for i in layout.read_id_list(source)]
    else:
        source = Path(list_file) if list_file is not None else layout.find_list_file(base, spec.file or "")
        if source is None or not source.is_file():
            where = source or base
            raise ProtocolError(
                f"{spec.file} not found for protocol {protocol.id} (put it in the dataset root or "
                f"{layout.paths.cache_dir() / 'lists'}, or pass it explicitly)",
                where,
            )
        if spec.source == "pairs-file":
            pairs = layout.read_pairs(source, shape, protocol.split)
            ids = [_cross_item_id(a, v) for a, v in pairs]
        else:
            ids = [layout.normalise_id(shape, i, protocol.split) for i in layout.read_id_list(source)]
    if spec.hash_kind == "file":
        if source is None:
            raise ProtocolError(f"protocol {protocol.id}: hash_kind 'file' needs a list or pairs file")
        digest = sha256_file(source)
    else:
        digest = canonical_ids_sha256(ids)
    where = source or base
    if verify and spec.count is not None and len(ids) != spec.count:
        raise ProtocolError(
            f"protocol {protocol.id} expects {spec.count} clips, found {len(ids)} "
            "(incomplete or different list; `stfbench datasets check` shows what is missing)",
            where,
        )
    if verify and spec.sha256 is not None and digest != spec.sha256:
        raise ProtocolError(
            f"clip list SHA-256 {digest[:12]}… differs from protocol {protocol.id}'s {spec.sha256[:12]}… "
            "(not the official list)",
            where,
        )
    return ResolvedClipList(
        root=base,
        layout=shape,
        ids=tuple(ids),
        pairs=None if pairs is None else tuple(pairs),
        sha256=digest,
        source=source,
        pinned=spec.sha256 is not None,
    )


def protocol_items(
    protocol: Protocol, root: Path | str | None = None, *, list_file: Path | str | None = None
) -> list[ProtocolItem]:
    """The protocol's items (sorted by item id) with their video and audio paths."""
    resolved = resolve_clip_list(protocol, root, list_file=list_file)
    if resolved.pairs is not None:
        pairs = list(resolved.pairs)
    elif protocol.pairing.mode == "cross":
        pairs = list(zip(seeded_derangement(resolved.ids, protocol.pairing.seed), sorted(resolved.ids), strict=True))
    else:
        pairs = [(clip, clip) for clip in resolved.ids]

    def path(clip_id: str) -> Path:
        return layout.clip_path(resolved.layout, resolved.root, clip_id, protocol.split)

    items = [
        ProtocolItem(
            item_id=video if audio == video else _cross_item_id(audio, video),
            video_id=video,
            audio_id=audio,
            video_path=path(video),
            audio_path=path(audio),
        )
        for audio, video in pairs
    ]
    return sorted(items, key=lambda item: item.item_id)


def seeded_derangement(ids: tuple[str, ...] | list[str], seed: int) -> list[str]:
    """Audio source for each clip of the sorted ids: a seeded random cyclic permutation (Sattolo), so no clip
    keeps its own audio. Same ids + seed → same pairing."""
    ordered = sorted(ids)
    if len(ordered) < 2:
        raise ProtocolError("cross pairing needs at least two clips")
    rng = np.random.default_rng(seed)
    permutation = np.arange(len(ordered))
    for i in range(len(ordered) - 1, 0, -1):
        j = int(rng.integers(0, i))
        permutation[i], permutation[j] = permutation[j], permutation[i]
    return [ordered[k] for k in permutation]


def _cross_item_id(audio_id: str, video_id: str) -> str:
    return f"{audio_id}__{video_id}"
