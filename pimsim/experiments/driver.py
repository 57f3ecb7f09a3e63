"""``pimsim sweep``: plan the points, skip those already finished, run the rest, keep every result.

Re-running the same command after an interrupt (or a crash, or a kill) resumes:
points already in the results file or its journal are not run again, failed
points are retried, and nothing finished is lost (see :mod:`pimsim.results.store`).
"""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid
from pathlib import Path

from pimsim import __version__
from pimsim.core.errors import ResultsError, SimulationError
from pimsim.experiments.executors import make_executor
from pimsim.experiments.plan import Point, plan_sweep
from pimsim.experiments.progress import Progress
from pimsim.experiments.sweepfile import SweepSpec, load_sweep
from pimsim.experiments.worker import Outcome, Task
from pimsim.results import metrics as metric_registry
from pimsim.results.h5file import Header
from pimsim.results.record import PointRecord
from pimsim.results.store import load, open_store


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    """What a sweep did."""

    name: str
    output: Path
    points: int
    done_before: int
    ran: int
    failed: int
    first_error: str
    run_id: str
    startup_s: float
    run_s: float
    where: str

    def text(self) -> str:
        rate = f" ({self.ran / self.run_s:.2f} points/s)" if self.ran and self.run_s > 0 else ""
        ran = (f"{self.ran} run now in {self.run_s:.1f} s{rate} on {self.where}" if self.ran
               else "nothing left to run")
        return (f"sweep {self.name}: {self.points} points, {self.done_before} finished before, {ran}; "
                f"{self.points - self.failed} ok, {self.failed} failed\nresults: {self.output}")


def default_output(spec: SweepSpec) -> Path:
    """``results/<name>.h5``, the name reduced to characters safe in a file name."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in spec.name).strip(".") or "sweep"
    return Path("results") / f"{name}.h5"


def run_sweep(sweep_path, output=None, scheduler: str | None = None, workers: int | None = None,
              serial: bool = False, progress: bool | None = None, checkpoint_every_s: float = 10.0) -> SweepSummary:
    """Run (or resume) the sweep in ``sweep_path``, storing every point in ``output``."""
    spec, base_dir = load_sweep(sweep_path)
    points = plan_sweep(spec, base_dir)
    output = Path(output) if output else default_output(spec)
    header = Header(spec.name, spec.kind, spec.as_dict(), column_units(spec), __version__)
    executor = make_executor(scheduler, workers, serial)
    run_id = uuid.uuid4().hex[:12]
    started = time.perf_counter()
    runnable: list[Point] = []
    try:
        with open_store(output, header, checkpoint_every_s) as store:
            todo = [p for p in points if not store.done(p.key)]
            done_before = len(points) - len(todo)
            invalid = [make_record(spec, p, Outcome(p.key, "failed", {}, p.error, 0.0), run_id)
                       for p in todo if p.error]
            if invalid:
                store.add(invalid)
            runnable = [p for p in todo if not p.error]
            startup_s = run_s = 0.0
            if runnable:
                startup_s, run_s = _run_points(spec, runnable, executor, store, run_id, progress, done_before)
            failed = [store.status[p.key][1] for p in points if not store.done(p.key)]
    except KeyboardInterrupt:
        raise SimulationError(_interrupted(output, run_id, len(runnable))) from None
    return SweepSummary(spec.name, output, len(points), done_before, len(runnable), len(failed),
                        failed[0] if failed else "", run_id, startup_s, run_s or time.perf_counter() - started,
                        executor.description)


def _run_points(spec: SweepSpec, runnable: list[Point], executor, store, run_id: str, progress,
                done_before: int) -> tuple[float, float]:
    by_key = {p.key: p for p in runnable}
    tasks = [Task(p.key, spec.kind, p.task, p.seed) for p in runnable]
    start = time.perf_counter()
    with executor as ex:
        startup_s = time.perf_counter() - start
        run_start = time.perf_counter()
        with Progress(spec.name, done_before + len(runnable), done_before, progress) as bar:
            for outcomes in ex.run(tasks):
                store.add([make_record(spec, by_key[o.key], o, run_id) for o in outcomes])
                for o in outcomes:
                    bar.advance(o.status == "ok")
        return startup_s, time.perf_counter() - run_start


def _interrupted(output: Path, run_id: str, runnable: int) -> str:
    """The message for Ctrl-C, counting what the store kept (it was merged on the way out)."""
    try:
        kept = sum(1 for r in load(output)[1].values() if r.run_id == run_id and r.ok)
    except ResultsError:
        return f"interrupted; finished points are kept in {output}: run the same command to resume"
    return (f"interrupted after {kept} of {runnable} points; every finished point is kept in {output}: "
            "run the same command to resume")


def make_record(spec: SweepSpec, p: Point, outcome: Outcome, run_id: str) -> PointRecord:
    return PointRecord(
        key=p.key, status=outcome.status, kind=spec.kind, params=p.params, config=p.config, resolved=p.resolved,
        seed=p.seed, metrics=outcome.metrics, error=outcome.error, pimsim_version=__version__, run_id=run_id,
        elapsed_s=float(outcome.elapsed_s),
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


def column_units(spec: SweepSpec) -> dict:
    """Units of every declared metric and of the swept paths (the sweep's ``units:`` first)."""
    units = {m.name: m.unit for m in metric_registry.all_metrics()}
    for path in spec.axes:
        unit = spec.units.get(path, metric_registry.unit_of(path))
        if unit is not None:
            units[path] = unit
    return units


def plan_text(sweep_path, output=None) -> str:
    """``--dry-run``: how many points, how many finished already, and the invalid ones."""
    spec, base_dir = load_sweep(sweep_path)
    points = plan_sweep(spec, base_dir)
    output = Path(output) if output else default_output(spec)
    done = set()
    if output.exists():
        _, records = load(output)
        done = {k for k, r in records.items() if r.ok}
    invalid = [p for p in points if p.error]
    lines = [f"sweep {spec.name} ({spec.kind}): {len(points)} points over {', '.join(spec.axes) or 'no axes'}",
             f"{sum(p.key in done for p in points)} already finished in {output}, "
             f"{sum(p.key not in done and not p.error for p in points)} to run, {len(invalid)} invalid"]
    lines += [f"  invalid: {p.error}" for p in invalid[:10]]
    return "\n".join(lines)
