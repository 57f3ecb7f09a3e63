"""Sweeps on Dask: a local cluster, and a scheduler and worker started as separate processes on localhost."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pimsim.core.errors import ConfigError
from pimsim.experiments.executors import DaskExecutor, chunks
from pimsim.experiments.worker import Task
from pimsim.results.record import same_metrics
from pimsim.results.store import load

TRACE_SWEEP = """
    kind: trace-summary
    base: {scenario: {phase: decode, output_tokens: 1}}
    grid: {model: [llama2-7b, mixtral-8x7b], scenario.batch: [1, 16], scenario.context_tokens: [256, 2048]}
"""


# Loaded into the worker processes with --preload (and into this process for planning): a kind whose
# point can kill the worker running it, as a segfault or the OOM killer would.
CRASH_KIND = """
import os
from pimsim.experiments.kinds import PointKind, Prepared

if "test-crash" not in PointKind.registry:      # Dask imports a preload module, then reloads it
    class CrashPoint(PointKind, kind="test-crash"):
        def prepare(self, raw, base_dir, seed):
            return Prepared(dict(raw), {}, dict(raw))

        def run(self, task, seed):
            if task.get("die"):
                os._exit(3)
            return {"ops": task["n"]}
"""


def _start(args, log, env=None):
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)


def _stop(procs):
    """SIGTERM to each process group (a worker's nanny and its worker process), SIGKILL if that is not enough."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory):
    """A Dask scheduler and one worker, each its own process, as a user would start them on a cluster."""
    d = tmp_path_factory.mktemp("dask")
    info = d / "scheduler.json"
    (d / "crash_kind.py").write_text(CRASH_KIND)
    log = open(d / "dask.log", "w")
    # a task whose worker dies is not retried (Dask's default retries it on up to 3 workers)
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    procs = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(info), "--idle-timeout", "300s"], log, env)]
    try:
        deadline = time.monotonic() + 60
        while not (info.exists() and info.read_text().strip()):
            assert procs[0].poll() is None and time.monotonic() < deadline, (d / "dask.log").read_text()
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(_start(["distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
                             "--no-dashboard", "--death-timeout", "60s", "--local-directory", str(d),
                             "--preload", str(d / "crash_kind.py")], log))
        yield address
    finally:
        _stop(list(reversed(procs)))
        log.close()


def serial_reference(run_cli, sweep_file, tmp_path):
    out = tmp_path / "serial.h5"
    assert run_cli("sweep", sweep_file(TRACE_SWEEP), "-o", out, "--serial").exit_code == 0
    return load(out)[1]


def test_sweep_on_a_scheduler_started_as_a_separate_process(scheduler_address, run_cli, sweep_file, tmp_path):
    out = tmp_path / "remote.h5"
    res = run_cli("sweep", sweep_file(TRACE_SWEEP), "-o", out, "--scheduler", scheduler_address)
    assert res.exit_code == 0, res.output
    assert "8 run now in" in res.stdout and f"on 1 worker(s) of the Dask scheduler at {scheduler_address}" in res.stdout
    remote, ref = load(out)[1], serial_reference(run_cli, sweep_file, tmp_path)
    assert remote.keys() == ref.keys() and len(remote) == 8
    assert all(same_metrics(remote[k].metrics, ref[k].metrics) for k in ref)     # bit-identical on a worker


def test_a_worker_that_dies_fails_its_point_and_the_sweep_goes_on(scheduler_address, run_cli, sweep_file,
                                                                  tmp_path, error_line):
    exec(compile(CRASH_KIND, "crash_kind", "exec"), {})     # this process plans the points: it needs the kind
    out = tmp_path / "crash.h5"
    text = "kind: test-crash\nzip: {n: [1, 2, 3, 4, 5, 6], die: [false, true, false, false, false, false]}\n"
    res = run_cli("sweep", sweep_file(text), "-o", out, "--scheduler", scheduler_address)
    assert "worker lost: KilledWorker" in error_line(res)
    records = {r.params["n"]: r for r in load(out)[1].values()}
    assert sorted(records) == [1, 2, 3, 4, 5, 6]                           # every point has its record
    assert not records[2].ok and records[2].error.startswith("worker lost: KilledWorker")
    # points in flight on the dying worker are lost with it; the others run on its replacement
    assert all(r.error.startswith("worker lost") for r in records.values() if not r.ok)
    ok = [n for n, r in records.items() if r.ok]
    assert len(ok) >= 3 and all(records[n].metrics == {"ops": n} for n in ok)


def test_sweep_on_a_local_cluster_matches_the_serial_run(run_cli, sweep_file, tmp_path):
    out = tmp_path / "local.h5"
    res = run_cli("sweep", sweep_file(TRACE_SWEEP), "-o", out, "--workers", "2")
    assert res.exit_code == 0, res.output
    assert "2 worker(s) of a local Dask cluster" in res.stdout
    local, ref = load(out)[1], serial_reference(run_cli, sweep_file, tmp_path)
    assert all(same_metrics(local[k].metrics, ref[k].metrics) for k in ref) and len(local) == 8


def test_an_unreachable_scheduler_is_one_clear_error():
    start = time.monotonic()
    with pytest.raises(ConfigError, match="cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'"):
        with DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=1):
            pass
    assert time.monotonic() - start < 30


def test_chunks_keep_every_task_once_and_enough_per_worker():
    tasks = [Task(f"k{i}", "test-echo", {}, 0) for i in range(203)]
    groups = chunks(tasks, workers=2)
    assert [t for g in groups for t in g] == tasks
    assert len(groups) >= 16 and max(map(len, groups)) <= 16
    assert chunks(tasks[:5], workers=2) == [[t] for t in tasks[:5]]
