"""Where sweep points run: a Dask cluster (local by default, or a scheduler address), or this process.

An executor takes :class:`~pimsim.experiments.worker.Task` objects and yields
lists of :class:`~pimsim.experiments.worker.Outcome` as they finish, in any
order. A point whose worker dies (after Dask's retries) comes back failed; it
never stops the others. Dask gets several points per task when there are many
(at least eight tasks per worker remain), so that cheap points are not
dominated by scheduling and by the journal's one fsync per task.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import warnings
from typing import Iterator

from pimsim.core.errors import ConfigError, SimulationError
from pimsim.experiments.worker import Outcome, Task, execute, execute_many

MAX_POINTS_PER_TASK = 16
TASKS_PER_WORKER = 8


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class SerialExecutor:
    """Every point in this process, one after another (debugging, tiny sweeps, tests)."""

    workers = 1
    description = "this process, one point after another"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, tasks: list[Task]) -> Iterator[list[Outcome]]:
        for task in tasks:
            yield [execute(task)]


class DaskExecutor:
    """Points on Dask distributed: a local cluster of ``workers`` processes, or the cluster at ``scheduler``."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, connect_timeout_s: float = 10.0):
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        self.scheduler = scheduler
        self.workers = workers or default_workers()
        self.connect_timeout_s = connect_timeout_s
        self._stack = contextlib.ExitStack()
        self.client = None

    @property
    def description(self) -> str:
        where = f"the Dask scheduler at {self.scheduler}" if self.scheduler else "a local Dask cluster"
        return f"{self.workers} worker(s) of {where}"

    def __enter__(self):
        self._stack.enter_context(_quiet_dask_logs())
        try:
            self.client = self._connect() if self.scheduler else self._local()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc):
        self._stack.close()
        return False

    def _local(self):
        from distributed import Client, LocalCluster

        # Worker processes start with SIGINT ignored (inherited through exec), so Ctrl-C in a terminal,
        # which reaches the whole process group, stops only this process; it then closes the cluster.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cluster = self._stack.enter_context(LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR))
        except (RuntimeError, OSError, TimeoutError) as exc:
            cause = exc.__cause__ or exc
            raise SimulationError(f"cannot start a local Dask cluster of {self.workers} worker(s): "
                                  f"{_short(cause)}") from None
        finally:
            signal.signal(signal.SIGINT, previous)
        return self._stack.enter_context(Client(cluster))

    def _connect(self):
        from distributed import Client

        try:
            client = self._stack.enter_context(Client(self.scheduler, timeout=self.connect_timeout_s))
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot reach a Dask scheduler at '{self.scheduler}': {_short(exc)}",
                              "--scheduler") from None
        try:
            client.wait_for_workers(1, timeout=self.connect_timeout_s)
        except (TimeoutError, OSError):
            raise ConfigError(f"the Dask scheduler at '{self.scheduler}' has no workers "
                              f"(waited {self.connect_timeout_s:g} s)", "--scheduler") from None
        self.workers = len(client.scheduler_info().get("workers", {})) or 1
        return client

    def run(self, tasks: list[Task]) -> Iterator[list[Outcome]]:
        from distributed import as_completed

        futures = {}
        for chunk in chunks(tasks, self.workers):
            fut = self.client.submit(execute_many, chunk, key=f"pimsim-points-{chunk[0].key}-{len(chunk)}",
                                     pure=False)
            futures[fut.key] = (fut, chunk)
        try:
            for fut in as_completed([f for f, _ in futures.values()]):
                _, chunk = futures.pop(fut.key)
                yield _outcomes(fut, chunk)
                fut.release()
        finally:
            if futures:
                self.client.cancel([f for f, _ in futures.values()])


def chunks(tasks: list[Task], workers: int) -> list[list[Task]]:
    """Tasks in groups of up to MAX_POINTS_PER_TASK, leaving at least TASKS_PER_WORKER groups per worker."""
    size = max(1, min(MAX_POINTS_PER_TASK, len(tasks) // (workers * TASKS_PER_WORKER)))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def _outcomes(fut, chunk: list[Task]) -> list[Outcome]:
    """The Outcomes a finished future holds; a lost worker or cancelled task fails its points."""
    if fut.status == "finished":
        return fut.result()
    try:
        exc = fut.exception()
    except Exception as lost:  # cancelled futures raise instead of returning their exception
        exc = lost
    error = f"worker lost: {type(exc).__name__}: {_short(exc)}"
    return [Outcome(task.key, "failed", {}, error, 0.0) for task in chunk]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def _quiet_dask_logs():
    """Dask's warnings (lost workers, closing comms) are ours to report, once, as failed points."""
    loggers = [logging.getLogger(n) for n in ("distributed", "dask", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            # e.g. "Port 8787 is already in use": the scheduler's HTTP server moves to a free port by itself
            warnings.filterwarnings("ignore", category=UserWarning, module=r"distributed\.")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def make_executor(scheduler: str | None = None, workers: int | None = None, serial: bool = False):
    if serial:
        if scheduler:
            raise ConfigError("--serial runs in this process; it cannot be combined with --scheduler")
        return SerialExecutor()
    return DaskExecutor(scheduler, workers)
