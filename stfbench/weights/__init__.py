"""Weight registry: every weight file a metric or model uses, with SHA-256, licence and source."""

from stfbench.weights.registry import (
    NO_PUBLISHED_DIGEST,
    ResolvedWeight,
    WeightEntry,
    candidate_paths,
    entries,
    entry,
    import_file,
    locate,
    resolve,
    resolve_verified,
    verify,
)

__all__ = [
    "NO_PUBLISHED_DIGEST",
    "ResolvedWeight",
    "WeightEntry",
    "candidate_paths",
    "entries",
    "entry",
    "import_file",
    "locate",
    "resolve",
    "resolve_verified",
    "verify",
]
