"""`merge_shards`: join the shard directories of a run into one run equal to an unsharded one.

Per-clip records are concatenated in protocol order; metric statistics are merged with `Metric.merge`
(so dataset-level metrics such as FID come from the pooled statistics, not from per-shard values); the
summary is then computed exactly as a single run computes it.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from stfbench.device import resolve_device
from stfbench.errors import StfbenchError
from stfbench.hashing import sha256_json
from stfbench.provenance import now_iso
from stfbench.runner.config import shard_dir_name
from stfbench.runner.lock import RunLock, check_records
from stfbench.runner.run import MetricsFactory, default_metrics_factory, finalize
from stfbench.runner.store import RunStore

#: Manifest fields every shard of one run must share.
SHARED_KEYS = ("protocol", "model_identity", "metric_names", "metric_settings", "seed")


def find_shards(run_dir: Path) -> list[Path]:
    """The `shard-i-of-n` folders of a run, checked to be the complete set 0..n-1."""
    found = sorted(p for p in Path(run_dir).glob("shard-*-of-*") if p.is_dir())
    if not found:
        raise StfbenchError("no shard-i-of-n folders to merge", run_dir)
    count = int(found[0].name.rsplit("-", 1)[1])
    expected = [Path(run_dir) / shard_dir_name(i, count) for i in range(count)]
    missing = [p.name for p in expected if not p.is_dir()]
    if missing or len(found) != count:
        raise StfbenchError(f"shards missing or of different counts: expected {count}, missing {missing}", run_dir)
    return expected


def merge_shards(
    run_dir: str | Path,
    *,
    metrics_factory: MetricsFactory | None = None,
    device: str | None = None,
    trust_unverified: bool = False,
) -> Path:
    """Merge every complete shard under `run_dir` into `run_dir` itself; returns `run_dir`."""
    run_dir = Path(run_dir)
    shards = [RunStore(p) for p in find_shards(run_dir)]
    manifests = [_complete_manifest(store) for store in shards]
    first = manifests[0]
    factory = metrics_factory or default_metrics_factory
    metrics = factory(first["metric_names"], _settings_for_build(first), resolve_device(device), trust_unverified)
    observed = {m.name: m.observed_settings for m in metrics}
    for store, manifest in zip(shards[1:], manifests[1:], strict=True):
        for key in SHARED_KEYS:
            if _shared(manifest, key, observed) != _shared(first, key, observed):
                raise StfbenchError(f"shard differs from {shards[0].root.name} in {key}: cannot merge", store.root)
    records: list[dict[str, Any]] = []
    included: list[str] = []
    for store in shards:
        state = store.load_state()
        shard_records = store.read_records()
        check_records(shard_records, store.root, store.read_manifest().get("n_expected"))
        if state is not None:
            for metric, metric_state in zip(metrics, state["metric_states"], strict=True):
                metric.merge(metric_state)
            included.extend(state["included_ids"])
        records.extend(shard_records)
    records.sort(key=lambda r: r["index"])
    ids = [r["clip_id"] for r in records]
    twice = sorted(clip for clip, count in Counter(ids).items() if count > 1)
    if twice:
        raise StfbenchError(f"clip {twice[0]} appears in two shards: cannot merge", run_dir)

    with RunLock(run_dir):  # one writer per folder (a run still writing it, or another merge)
        target = RunStore(run_dir)
        (run_dir / "clips.jsonl").unlink(missing_ok=True)
        for record in records:
            target.append_record(record)
        target.save_state(
            {"metric_states": [m.state_dict() for m in metrics], "included_ids": sorted(included), "last_record": None}
        )
        manifest = dict(first)
        manifest.update(
            shard=None,
            merged_from=[store.root.name for store in shards],
            n_expected=sum(m["n_expected"] for m in manifests),
            clip_ids_sha256=sha256_json(ids),  # protocol order, as an unsharded run's
            start_time=min(m["start_time"] for m in manifests),
            merged_at=now_iso(),
        )
        target.write_manifest(manifest)
        return finalize(target, metrics, manifest["n_expected"], manifest["seed"])


def wait_for_shards(run_dir: Path, count: int, poll_seconds: float = 5.0, timeout: float | None = None) -> None:
    """Block until all `count` shards of `run_dir` are complete (used by rank 0 under torchrun)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        stores = [RunStore(Path(run_dir) / shard_dir_name(i, count)) for i in range(count)]
        if all(s.exists() and s.read_manifest().get("status") == "complete" for s in stores):
            return
        if deadline is not None and time.monotonic() > deadline:
            raise StfbenchError(f"timed out waiting for {count} shards to complete", run_dir)
        time.sleep(poll_seconds)


def _complete_manifest(store: RunStore) -> dict[str, Any]:
    if not store.exists():
        raise StfbenchError("shard has no manifest.json", store.root)
    manifest = store.read_manifest()
    if manifest.get("status") != "complete":
        raise StfbenchError(
            "shard is not complete (finish it with `stfbench run ... --shard i/n --resume`)", store.root
        )
    return manifest


def _shared(manifest: dict[str, Any], key: str, observed: dict[str, tuple[str, ...]]) -> Any:
    """A manifest field shards must agree on; metric settings without what each shard observed (frame counts)."""
    value = manifest.get(key)
    if key != "metric_settings" or not isinstance(value, dict):
        return value
    return {
        name: {k: v for k, v in settings.items() if k not in observed.get(name, ())}
        if isinstance(settings, dict)
        else settings
        for name, settings in value.items()
    }


def _settings_for_build(manifest: dict[str, Any]) -> dict[str, Any]:
    """The protocol's metric settings recorded by the run, for rebuilding the metrics."""
    return dict(manifest.get("build_settings") or {})
