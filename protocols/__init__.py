"""Test protocols: pinned TOML files and their loader (imported as `stfbench.protocols`).

A protocol pins the dataset and split, the clip list (count + SHA-256), fps and sample rate, the face crop,
the pairing, the reference-frame rule and the metric settings with their weight ids. `Protocol.hash`
identifies the exact protocol content in results.
"""

from stfbench.protocols.loader import PROTOCOL_DIR, list_protocols, load_protocol
from stfbench.protocols.resolve import ResolvedClipList, protocol_root, resolve_clip_list, seeded_derangement
from stfbench.protocols.spec import (
    ClipListSpec,
    CropSpec,
    MetricSettings,
    PairingSpec,
    Protocol,
    ProtocolItem,
    ReferenceSpec,
    SyntheticSpec,
)

__all__ = [
    "PROTOCOL_DIR",
    "ClipListSpec",
    "CropSpec",
    "MetricSettings",
    "PairingSpec",
    "Protocol",
    "ProtocolItem",
    "ReferenceSpec",
    "ResolvedClipList",
    "SyntheticSpec",
    "list_protocols",
    "load_protocol",
    "protocol_root",
    "resolve_clip_list",
    "seeded_derangement",
]
