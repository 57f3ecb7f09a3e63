"""What a worker does with one point: run its kind, check the metrics, never raise.

:func:`execute` is the function Dask ships to workers (by reference: workers
import pimsim). Whatever goes wrong inside a point becomes a failed
:class:`Outcome` with one line of error, so one bad point cannot stop a sweep.
"""

from __future__ import annotations

import dataclasses
import time
import traceback

from pimsim.core.errors import PimsimError
from pimsim.experiments.kinds import kind_named
from pimsim.results import metrics as metric_registry
from pimsim.results.record import check_metric_value, plain_metrics


@dataclasses.dataclass(frozen=True)
class Task:
    """One point as sent to a worker."""

    key: str
    kind: str
    task: dict
    seed: int


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What came back: metrics, or the error that stopped the point."""

    key: str
    status: str
    metrics: dict
    error: str
    elapsed_s: float


def execute(task: Task) -> Outcome:
    """Run ``task``; any exception becomes a failed Outcome (KeyboardInterrupt still stops the run)."""
    start = time.perf_counter()
    try:
        values = kind_named(task.kind).run(task.task, task.seed)
        values = checked_metrics(values)
    except PimsimError as exc:
        return Outcome(task.key, "failed", {}, exc.one_line(), time.perf_counter() - start)
    except Exception as exc:  # a bug in a kind must not end the sweep; record where it happened
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
        text = " ".join(f"internal error: {type(exc).__name__}: {exc}{at}".split())
        return Outcome(task.key, "failed", {}, text[:500], time.perf_counter() - start)
    return Outcome(task.key, "ok", values, "", time.perf_counter() - start)


def execute_many(tasks: list[Task]) -> list[Outcome]:
    """Run several points in one Dask task, so cheap points are not dominated by scheduling."""
    return [execute(t) for t in tasks]


def checked_metrics(values) -> dict:
    """The metrics as plain scalars; an undeclared name or a non-scalar value is a PimsimError."""
    if not isinstance(values, dict):
        raise PimsimError(f"point kind returned {type(values).__name__}, not a dict of metrics")
    values = plain_metrics(values)
    for name, value in values.items():
        if not metric_registry.is_declared(name):
            raise PimsimError(f"metric '{name}' is not declared (pimsim.results.metrics.metric)")
        check_metric_value(name, value)
    return values
