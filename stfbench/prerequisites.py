"""Everything a command will need, checked at once before any work: one table of what is missing, each row
with its fix (`stfbench doctor` prints the same table without running).

A check never loads a network, decodes a clip or generates the synthetic corpus: it looks at files, folders,
hashes and lists only, so a failing command fails in seconds with every problem named together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stfbench.errors import StfbenchError


@dataclass(frozen=True)
class Check:
    """One prerequisite: `ok` or not, what was found (`detail`) and, when not ok, how to fix it."""

    item: str
    ok: bool
    detail: str
    fix: str = ""
    #: missing but not needed: the command reports the metric as n/a instead of failing
    optional: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "ok": self.ok, "optional": self.optional, "detail": self.detail, "fix": self.fix}


class PrerequisitesError(StfbenchError):
    """Some prerequisites are missing; `checks` holds every row (the CLI prints them as one table)."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = list(checks)
        missing = [c for c in self.checks if not c.ok]
        super().__init__(
            f"{len(missing)} prerequisite(s) missing: "
            + "; ".join(f"{c.item}: {c.detail} (fix: {c.fix})" if c.fix else f"{c.item}: {c.detail}" for c in missing)
        )


def require(checks: Iterable[Check]) -> list[Check]:
    """The checks, or PrerequisitesError when any failed."""
    checks = list(checks)
    if any(not c.ok for c in checks):
        raise PrerequisitesError(checks)
    return checks


def check_output_dir(path: Path | str | None, item: str = "output folder") -> list[Check]:
    """The folder can be created or written (`stfbench.runner.lock.check_output_dir`: a real write test)."""
    from stfbench.runner.lock import OutputError
    from stfbench.runner.lock import check_output_dir as check_writable

    if path is None:
        return []
    target = Path(path).expanduser()
    try:
        check_writable(target)
    except OutputError as error:
        return [Check(item, False, str(error), "choose a writable --out folder")]
    return [Check(item, True, f"{target} ({'exists' if target.exists() else 'will be created'})")]


def check_weights(weight_ids: Iterable[str], needed_by: str, trust_unverified: bool = False) -> list[Check]:
    """Each weight file is present and matches its registry SHA-256 (or is knowingly trusted)."""
    from stfbench.weights import registry

    checks = []
    for weight_id in dict.fromkeys(weight_ids):
        item = registry.entry(weight_id)
        label = f"weight {weight_id} ({needed_by})"
        path = registry.locate(weight_id)
        if path is None:
            checks.append(Check(label, False, f"{item.filename} not found", item.how_to_get()))
            continue
        status = registry.verify(weight_id)
        if status in (registry.OK, registry.UNVERIFIED) or trust_unverified:
            checks.append(Check(label, True, f"{path} ({status})"))
        else:
            checks.append(
                Check(label, False, f"{path}: {status}", f"replace it: {item.how_to_get()}; or --trust-unverified")
            )
    return checks


def check_metrics(
    names: Sequence[str], settings: Any, trust_unverified: bool = False, optional: Iterable[str] = ()
) -> list[Check]:
    """The weight files of every metric under `settings` (a protocol's metric sections, a MetricSettings or
    None for defaults); a metric in `optional` whose files are missing is reported n/a (ok) rather than
    failing (FID on the synthetic protocol)."""
    from stfbench.metrics.registry import weights_needed
    from stfbench.metrics.settings import MetricSettings

    settings = MetricSettings.from_any(settings)
    optional = set(optional)
    checks = []
    for name in names:
        rows = check_weights(weights_needed(name, settings), name, trust_unverified)
        if name in optional:
            rows = [r if r.ok else Check(r.item, True, f"{r.detail}: {name} reported n/a", r.fix, True) for r in rows]
        checks.extend(rows)
    return checks


def check_dataset(protocol: Any, root: Path | str | None, list_file: Path | str | None = None) -> list[Check]:
    """The dataset root exists and the protocol's clip list is found and matches its pinned count and hash.
    The synthetic protocol without a root is generated on first use (ok)."""
    from stfbench import paths
    from stfbench.datasets import layout
    from stfbench.errors import ProtocolError
    from stfbench.protocols.resolve import resolve_clip_list

    env = paths.DATASET_ROOT_ENV.get(protocol.dataset, "")
    if protocol.dataset == "synthetic" and root is None:
        return [Check("dataset", True, "synthetic corpus (generated on first use under the cache)")]
    resolved_root = layout.dataset_root_or_none(protocol.dataset, root)
    if resolved_root is None:
        fix = f"pass --root DIR{f' or set {env}' if env else ''} (the folder holding {protocol.dataset}'s clips)"
        return [Check(f"{protocol.dataset} dataset root", False, "not given", fix)]
    if not resolved_root.is_dir():
        return [Check(f"{protocol.dataset} dataset root", False, f"{resolved_root} is not a folder", "check --root")]
    checks = [Check(f"{protocol.dataset} dataset root", True, str(resolved_root))]
    spec = protocol.clip_list
    label = f"clip list{f' {spec.file}' if spec.file else ''}"
    try:
        found = resolve_clip_list(protocol, resolved_root, list_file=list_file)
    except ProtocolError as error:
        where = spec.file or "the list file"
        fix = f"put {where} in the dataset root or pass --list-file FILE; `stfbench datasets check` lists what is there"
        checks.append(Check(label, False, str(error), fix))
    else:
        pinned = "pinned hash matches" if found.pinned else "no pinned hash"
        checks.append(Check(label, True, f"{len(found.ids)} clips ({pinned})"))
    return checks


def check_file(path: Path | str | None, item: str, fix: str) -> list[Check]:
    """A user-named file exists (nothing when no path was given)."""
    if path is None:
        return []
    target = Path(path).expanduser()
    if target.is_file():
        return [Check(item, True, str(target))]
    return [Check(item, False, f"{target} not found", fix)]


def check_checkpoint(
    model: str, checkpoint: str | None, default_id: str | None, trust_unverified: bool, fix: str
) -> list[Check]:
    """A model's `--checkpoint` (a file or a weight-registry id) or, without one, the dataset's default id."""
    from stfbench.weights import entries

    item = f"{model} checkpoint"
    if checkpoint is not None and checkpoint not in entries():
        return check_file(checkpoint, item, "check the --checkpoint path")
    weight_id = checkpoint or default_id
    if weight_id is None:
        return [Check(item, False, "no default checkpoint for this dataset", fix)]
    return check_weights([weight_id], model, trust_unverified)


def for_run(
    protocol: Any,
    adapter: Any,
    metric_names: Sequence[str] | None,
    *,
    root: Path | str | None = None,
    list_file: Path | str | None = None,
    out: Path | str | None = None,
    trust_unverified: bool = False,
) -> list[Check]:
    """Everything `stfbench run` needs: dataset and list, the model's files, every metric's weights (on the
    synthetic protocol with its default metrics, FID's are optional) and a writable run folder."""
    names = list(metric_names or protocol.metrics.names)
    optional = ("fid",) if metric_names is None and protocol.dataset == "synthetic" else ()
    checks = check_dataset(protocol, root, list_file)
    if adapter is not None:
        checks += adapter.prerequisites(protocol.dataset)
    checks += check_metrics(names, protocol.metrics.sections(), trust_unverified, optional)
    return checks + check_output_dir(out, "run folder")


def for_training(
    dataset: str,
    root: Path | str | None,
    expert: Path | str | None,
    needs_expert: bool,
    out: Path | str | None,
    *,
    metric_names: Sequence[str] | None = None,
    trust_unverified: bool = False,
) -> list[Check]:
    """Everything `train` (and, with `metric_names`, `ablate`) needs: the dataset's training data, the sync
    expert when the AV loss is on, the metrics' weights and a writable output folder."""
    from stfbench.protocols import load_protocol

    protocol = load_protocol(dataset)
    checks = check_dataset(protocol, root)[:1]  # the root only: training reads the train/val splits
    if needs_expert and expert is None:
        fix = "pass --expert PATH (`stfbench train-expert --kind color-syncnet`), or --av-weight 0"
        checks.append(Check("sync expert (AV loss)", False, "not given", fix))
    else:
        checks += check_file(expert, "sync expert (AV loss)", "check the --expert path")
    if metric_names is not None:
        optional = ("fid",) if protocol.dataset == "synthetic" and not metric_names else ()
        names = list(metric_names or protocol.metrics.names)
        checks += check_metrics(names, protocol.metrics.sections(), trust_unverified, optional)
    return checks + check_output_dir(out)


def render(checks: Sequence[Check]):
    """A rich table of the checks (never parsed as markup)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="prerequisites", title_justify="left")
    for column in ("", "needed", "found", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        if not check.ok:
            mark = Text("MISSING", style="bold red")
        else:
            mark = Text("n/a", style="yellow") if check.optional else Text("ok", style="green")
        table.add_row(mark, Text(check.item), Text(check.detail), Text(check.fix))
    return table
