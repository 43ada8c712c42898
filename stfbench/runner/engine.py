"""The scoring engine of `run` and `score`: clips in protocol order → metric statistics, state and records.

A `ClipSource` feeds it. For each clip, `produce(item)` runs in the main process (`run`: load the prepared
clip and generate it with the model; `score`: nothing) and returns a picklable job; the job (`job()` →
`ScoringSample`: decoding, pasting crops back) and then every metric's `clip_stage` (crop/resize, face
detection, landmarks, per-frame PSNR/SSIM) run in a worker: one background thread with `workers=1`, else
`workers` spawned processes (`torch.set_num_threads(1)` each). The main process keeps the networks (the
model, SyncNet, Inception, LPIPS) and the run store. At most max(2·workers, group size + workers) clips are
in flight (with one worker and a source that does not `produce_ahead`, one group), so memory does not grow
with the number of clips. A stage that cannot be pickled (e.g. a landmarker given
as a closure) runs in the main process.

Clips are committed in groups (`ramp_groups`: 1, 2, 4, … up to `GROUP_SIZE` when a metric precomputes, else
1): each metric may `precompute` the group (LSE: windows share SyncNet batches), then each clip is scored and
its statistics and record saved, in protocol order. Values, records and summaries do not depend on
`workers`. Crash safety: after each clip the metric statistics, the ids they include and that clip's record
are saved atomically (`state.json`), then the record is appended to `clips.jsonl` (fsync'd); `restore`
reloads them and re-appends the one record a kill between the two writes may have lost. The first group of
each start is committed before the next clip is produced, so a batch killed every few clips still moves on.

A failure of one clip is its record's status, never a stop: a `StfbenchError` keeps its status, another
exception while producing or in the job becomes `ClipSource.failure` (run: `model-error`, score:
`decode-error`), in a metric `ClipSource.metric_failure` (`metric-error`). A full, over-quota or read-only
disk stops the batch (`OutputError`), after the clips before it are recorded; so does a worker process that
dies.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from stfbench.errors import StfbenchError
from stfbench.metrics.base import ScoringSample
from stfbench.metrics.gt_cache import GTCache
from stfbench.runner.lock import OUTPUT_ERRNOS, OutputError, check_records, raise_if_output_failure
from stfbench.runner.store import RunStore

#: A clip's work off the main process: called in a worker, returns the clip's sample (raises its failure).
Job = Callable[[], ScoringSample]
#: Metric name → its clip stage.
Stages = dict[str, Callable[[ScoringSample], Any]]


class ClipSource:
    """What feeds the engine: the clips' jobs and how their records and failures read."""

    #: Whether, with one worker, clips may be produced while earlier ones are not yet recorded (score: decode
    #: ahead). False (run): a kill then loses no generated clip. With more workers clips are always produced
    #: ahead, up to the engine's in-flight bound.
    produce_ahead = True

    def key(self, item: Any) -> str:
        """The clip's id in records and state."""
        raise NotImplementedError

    def record(self, index: int, item: Any) -> dict[str, Any]:
        """The fields that open the clip's record (id, index, inputs)."""
        raise NotImplementedError

    def produce(self, item: Any) -> Job:
        """The main-process part of the clip (may raise its failure); returns its job."""
        raise NotImplementedError

    def accept(self, item: Any, sample: ScoringSample) -> None:
        """A main-process step on the finished sample before it is scored, in protocol order (default none)."""

    def failure(self, item: Any, error: Exception) -> StfbenchError:
        """The clip's error for an exception (not a StfbenchError) while producing it or in its job."""
        raise NotImplementedError

    def metric_failure(self, item: Any, metric: Any, error: Exception) -> StfbenchError:
        """The clip's error for a metric's exception (not a StfbenchError) while scoring it."""
        raise NotImplementedError


def gt_cache(enabled: bool = True) -> GTCache | None:
    """The ground-truth cache, `$STFBENCH_CACHE/gt` (None when disabled: `--no-gt-cache`)."""
    from stfbench import paths

    return GTCache(paths.cache_dir() / "gt") if enabled else None


def resolve_workers(workers: int) -> int:
    """`--workers`: 0 means one per CPU core."""
    return workers or os.cpu_count() or 1


def ramp_groups(todo: list, size: int) -> list[list]:
    """`todo` cut into groups of 1, 2, 4, … up to `size` items: a (re)started batch records its first clip
    after one clip's work, so even a run killed every few clips progresses, while later groups are full size
    (a metric's `precompute` batches a group; the values do not depend on the grouping)."""
    groups, start, length = [], 0, 1
    while start < len(todo):
        groups.append(todo[start : start + length])
        start += length
        length = min(2 * length, size)
    return groups


@dataclass
class _Entry:
    """One clip in flight: its job's future (or the failure that stopped it in the main process)."""

    index: int
    item: Any
    outcome: Future | Exception
    seconds: float  # main-process time so far


class Engine:
    """Scores clips into one run store (see the module docstring)."""

    GROUP_SIZE = 8

    def __init__(
        self,
        store: RunStore,
        metrics: list,
        workers: int = 1,
        gt_cache: GTCache | None = None,
        per_frame: bool = False,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.per_frame = per_frame
        self.workers = resolve_workers(workers)
        self.included: set[str] = set()
        self.group_size = self.GROUP_SIZE if any(m.precomputes() for m in metrics) else 1
        self.use_gt_cache(gt_cache)

    def use_gt_cache(self, cache: GTCache | None) -> None:
        """Let every metric that has a ground-truth side read and fill `cache` (None: none does)."""
        self.gt_cache = cache
        self.gt_namespaces = {m.name: ns for m in self.metrics if (ns := m.use_gt_cache(cache)) is not None}

    def gt_cache_record(self) -> dict[str, Any] | None:
        """What the manifest records of the ground-truth cache: its folder and each cached metric's namespace
        (`stfbench cache info` shows what a namespace stands for); None when no metric used it."""
        if self.gt_cache is None or not self.gt_namespaces:
            return None
        return {"root": str(self.gt_cache.root), "namespaces": dict(self.gt_namespaces)}

    def restore(self, expected_ids: list[str]) -> set[str]:
        """Load the saved statistics into the metrics; re-append the one record a kill may have lost after the
        state save. Records holding a clip twice, more clips than expected, clips outside `expected_ids`, or
        disagreeing with the state are refused. Returns the ids already recorded."""
        root = self.store.root
        records = self.store.read_records(repair=True)
        check_records(records, root, len(expected_ids), expected_ids)
        recorded = {r["clip_id"] for r in records}
        state = self.store.load_state()
        if state is None:
            if recorded:
                raise StfbenchError("clips.jsonl has records but state.json is missing: cannot resume safely", root)
            return set()
        included = set(state["included_ids"])
        lost = included - recorded
        if recorded - included:
            extra = len(recorded - included)
            raise StfbenchError(f"{extra} recorded clips are missing from state.json: cannot resume safely", root)
        if lost - {state["last_record"]["clip_id"]}:
            raise StfbenchError("clips.jsonl and state.json disagree by more than one clip: cannot resume", root)
        for metric, metric_state in zip(self.metrics, state["metric_states"], strict=True):
            metric.merge(metric_state)
        if lost:
            self.store.append_record(state["last_record"])
        self.included = included
        return included

    def score(
        self, todo: list[tuple[int, Any]], source: ClipSource, on_record: Callable[[dict], None] | None = None
    ) -> None:
        """Score and record every (index, item) of `todo`, in order; `on_record` sees each record."""
        self.last_good_states = [snapshot(m.state_dict()) for m in self.metrics]
        stages = {m.name: stage for m in self.metrics if (stage := m.clip_stage()) is not None}
        count = min(self.workers, max(1, len(todo)))  # no process is started for a clip it would never get
        ahead = count > 1 or source.produce_ahead
        limit = max(2 * count, self.group_size + count) if ahead else self.group_size
        queue: deque[list[_Entry]] = deque()
        in_flight, committed = 0, False
        with _Workers(count, stages) as workers:
            for group in ramp_groups(todo, self.group_size):
                while queue and (not committed or in_flight + len(group) > limit):
                    in_flight -= self._commit(queue.popleft(), source, workers, on_record)
                    committed = True
                try:
                    queue.append(self._submit(group, source, workers))
                except OutputError:  # the disk failed: keep what was done before it, then stop
                    while queue:
                        self._commit(queue.popleft(), source, workers, on_record)
                    raise
                in_flight += len(group)
                while queue and all(_done(entry) for entry in queue[0]):
                    in_flight -= self._commit(queue.popleft(), source, workers, on_record)
                    committed = True
            while queue:
                self._commit(queue.popleft(), source, workers, on_record)

    def _submit(self, group: list[tuple[int, Any]], source: ClipSource, workers: _Workers) -> list[_Entry]:
        """Produce every clip of `group` in this process and hand its job to the workers."""
        entries = []
        for index, item in group:
            started = time.perf_counter()
            try:
                outcome: Future | Exception = workers.submit(source.produce(item))
            except Exception as error:  # the clip's status, unless the disk failed
                raise_if_output_failure(error, self.store.root)
                outcome = error
            entries.append(_Entry(index, item, outcome, time.perf_counter() - started))
        return entries

    def _commit(
        self, group: list[_Entry], source: ClipSource, workers: _Workers, on_record: Callable[[dict], None] | None
    ) -> int:
        """Wait for the group's jobs, precompute, then score and record each clip; returns the group's size."""
        outcomes: list[tuple[ScoringSample | Exception, float]] = []
        for entry in group:
            outcome, seconds = workers.result(entry.outcome, source.key(entry.item))
            started = time.perf_counter()
            if isinstance(outcome, ScoringSample):
                try:
                    source.accept(entry.item, outcome)
                except Exception as error:
                    outcome = error
            if isinstance(outcome, Exception):
                raise_if_output_failure(outcome, self.store.root)
                if not isinstance(outcome, StfbenchError):
                    outcome = source.failure(entry.item, outcome)
            outcomes.append((outcome, entry.seconds + seconds + time.perf_counter() - started))
        started = time.perf_counter()
        samples = [outcome for outcome, _ in outcomes if isinstance(outcome, ScoringSample)]
        for metric in self.metrics:
            with contextlib.suppress(Exception):  # on a crash each clip's update() computes (and fails) alone
                metric.precompute(samples)
        share = (time.perf_counter() - started) / len(group)
        for entry, (outcome, seconds) in zip(group, outcomes, strict=True):
            record = self._score_one(entry.index, entry.item, outcome, seconds + share, source)
            if on_record is not None:
                on_record(record)
        return len(group)

    def _score_one(
        self, index: int, item: Any, outcome: ScoringSample | StfbenchError, seconds: float, source: ClipSource
    ) -> dict[str, Any]:
        """Score one clip (or record its failure); save the state, then its record."""
        started = time.perf_counter()
        record = source.record(index, item)
        try:
            if isinstance(outcome, Exception):
                raise outcome
            values = self._values(outcome, item, source)
            record.update(status="ok", reason=None, metrics=values, frames=len(outcome.pred_crops))
            if self.per_frame:  # before the record: a recorded clip has its sidecar
                details = {m.name: detail for m in self.metrics if (detail := m.per_frame()) is not None}
                self.store.write_per_frame(source.key(item), details)
        except OutputError:
            raise
        except StfbenchError as error:
            record.update(status=error.status, reason=one_line(error), metrics={})
        if record["status"] != "ok":
            self._rollback_metrics()
        record["seconds"] = round(time.perf_counter() - started + seconds, 3)
        self.included.add(source.key(item))
        self.store.save_state(
            {
                "metric_states": [m.state_dict() for m in self.metrics],
                "included_ids": sorted(self.included),
                "last_record": record,
            }
        )
        self.store.append_record(record)
        if record["status"] == "ok":
            self.last_good_states = [snapshot(m.state_dict()) for m in self.metrics]
        return record

    def _values(self, sample: ScoringSample, item: Any, source: ClipSource) -> dict[str, float]:
        """Every metric's values for one clip; a metric's crash is the clip's `metric_failure`."""
        values: dict[str, float] = {}
        for metric in self.metrics:
            try:
                values.update({k: float(v) for k, v in metric.update(sample).items()})
            except StfbenchError:
                raise
            except Exception as error:
                raise_if_output_failure(error, self.store.root)
                raise source.metric_failure(item, metric, error) from error
        return values

    def _rollback_metrics(self) -> None:
        """A clip that failed half-way through scoring must leave no trace in the statistics: every metric
        whose state moved is reset and given back the statistics saved after the last good clip."""
        for metric, state in zip(self.metrics, self.last_good_states, strict=True):
            if not _state_equal(metric.state_dict(), state):
                metric.reset()
                metric.merge(snapshot(state))


class _Workers:
    """Where jobs run: one background thread of this process (`count` 1), else `count` spawned processes."""

    def __init__(self, count: int, stages: Stages) -> None:
        self.processes = count > 1
        if self.processes:
            self.remote = {name: stage for name, stage in stages.items() if _picklable(stage)}
            self.local = {name: stage for name, stage in stages.items() if name not in self.remote}
            context = multiprocessing.get_context("spawn")
            self.pool: Any = ProcessPoolExecutor(count, context, initializer=_init_process, initargs=(self.remote,))
        else:
            self.remote, self.local = stages, {}
            self.pool = ThreadPoolExecutor(1)

    def submit(self, job: Job) -> Future:
        if self.processes:
            return self.pool.submit(_run_in_process, job)
        return self.pool.submit(run_job, job, self.remote)

    def result(self, outcome: Future | Exception, key: str) -> tuple[ScoringSample | Exception, float]:
        """The clip's sample with every stage run (or its failure) and the seconds its job took."""
        if isinstance(outcome, Exception):
            return outcome, 0.0
        try:
            sample, seconds = outcome.result()
        except BrokenProcessPool:
            raise StfbenchError(
                f"a worker process died while scoring clip {key} (killed, or out of memory): the clips recorded "
                "so far are kept; rerun with --resume (fewer --workers if memory is short)"
            ) from None
        except Exception as error:  # jobs return their failures: this is the hand-over itself failing
            reason = f"{type(error).__name__}: {one_line(error)}"
            raise StfbenchError(f"cannot hand clip {key} to a worker: {reason}") from error
        if self.local and isinstance(sample, ScoringSample):
            started = time.perf_counter()
            _run_stages(sample, self.local)
            seconds += time.perf_counter() - started
        return sample, seconds

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def run_job(job: Job, stages: Stages) -> tuple[ScoringSample | Exception, float]:
    """Run one clip's job and then the metric stages on its sample; a failure is returned, not raised."""
    started = time.perf_counter()
    try:
        sample = job()
    except Exception as error:
        return error, time.perf_counter() - started
    _run_stages(sample, stages)
    return sample, time.perf_counter() - started


def _run_stages(sample: ScoringSample, stages: Stages) -> None:
    for name, stage in stages.items():
        try:
            sample.staged[name] = stage(sample)
        except Exception as error:  # the metric's update raises it, in its turn
            sample.staged[name] = error


_PROCESS_STAGES: Stages = {}


def _init_process(stages: Stages) -> None:
    import torch

    torch.set_num_threads(1)
    _PROCESS_STAGES.update(stages)
    threading.Thread(target=_exit_with_parent, daemon=True).start()


def _exit_with_parent() -> None:
    """A worker outlives no killed main process (its pool's queues would keep it waiting forever)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


def _run_in_process(job: Job) -> tuple[ScoringSample | Exception, float]:
    outcome, seconds = run_job(job, _PROCESS_STAGES)
    if isinstance(outcome, Exception):
        return _portable(outcome), seconds
    outcome.staged = {
        name: _portable(value) if isinstance(value, Exception) else value for name, value in outcome.staged.items()
    }
    return outcome, seconds


def _portable(error: Exception) -> Exception:
    """`error` as it can cross to the main process: a disk failure behind it as that OS error (a cause is not
    pickled), an exception that cannot be pickled as a RuntimeError naming it."""
    cause = error.__cause__
    if isinstance(cause, OSError) and cause.errno in OUTPUT_ERRNOS and not isinstance(error, OSError):
        return OSError(cause.errno, os.strerror(cause.errno), cause.filename)
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {one_line(error)}")
    return error


def _picklable(stage: Any) -> bool:
    try:
        pickle.dumps(stage)
    except Exception:
        return False
    return True


def _done(entry: _Entry) -> bool:
    return not isinstance(entry.outcome, Future) or entry.outcome.done()


def snapshot(state: Any) -> Any:
    """A deep copy of a metric state that shares its read-only arrays (they are never changed in place, e.g.
    FID's folded sums), so keeping the last good state costs nothing for a large statistic."""
    if isinstance(state, np.ndarray) and not state.flags.writeable:
        return state
    if isinstance(state, dict):
        return {key: snapshot(value) for key, value in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(snapshot(value) for value in state)
    return copy.deepcopy(state)


def _state_equal(a: Any, b: Any) -> bool:
    import torch

    if a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_state_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_state_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray | torch.Tensor) or isinstance(b, np.ndarray | torch.Tensor):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


def one_line(error: BaseException) -> str:
    """The first line of an error's message (at most 500 characters), else its type's name."""
    lines = str(error).strip().splitlines()
    return lines[0][:500] if lines else type(error).__name__
