"""Sweep throughput on a local Dask cluster of 1 and of 2 workers (and in-process, for reference).

The sweep replays the sample HBM3 trace (12,544 requests) at command level for
every combination of tRCD_RD, address mapping and refresh mode: points of
0.2-0.5 s each, like the DRAM points of a real study. Throughput is points per
second of wall time from the first point submitted to the last one stored
(results file written, journal merged); the cluster's start-up is printed
apart. The same points on a plain process pool (no Dask, nothing stored) show
what the machine itself allows at the time. It measures and prints; it asserts
nothing.

    python benchmarks/sweep.py                       # 48 points, best of 2 runs each
    python benchmarks/sweep.py --points 96 --repeat 3

Other work on the machine slows the 2-worker run most (it needs both cores):
the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import textwrap
import time
from pathlib import Path

from pimsim.experiments.driver import run_sweep
from pimsim.experiments.plan import plan_sweep
from pimsim.experiments.sweepfile import load_sweep
from pimsim.experiments.worker import Task, execute

T_RCD = [24, 26, 28, 30, 31, 33, 35, 36, 38, 40, 42, 44]   # cycles; the preset's tRAS (45) bounds it


def write_sweep(folder: Path, points: int) -> Path:
    """``points`` distinct points: 2 mappings x 2 refresh modes x (tRCD_RD, read queue depth) pairs."""
    n = max(1, points // 4)
    rcd = [T_RCD[i % len(T_RCD)] for i in range(n)]
    queue = [32 + 8 * (i // len(T_RCD)) for i in range(n)]
    path = folder / "bench.yaml"
    path.write_text(textwrap.dedent(f"""\
        kind: dram-replay
        name: bench
        grid:
          mapping: [RoBaRaCoCh, MOP4CLXOR]
          refresh: [all-bank, none]
        zip:
          device.timing_cycles.tRCD_RD: {rcd}
          device.controller.read_queue: {queue}
    """))
    return path


def measure(sweep: Path, folder: Path, workers: int | None, serial: bool = False) -> dict:
    out = folder / f"bench-{'serial' if serial else workers}.h5"   # a new file: every point runs
    summary = run_sweep(sweep, out, workers=workers, serial=serial, progress=False)
    assert summary.failed == 0, summary.first_error
    return {"label": "pimsim sweep --serial" if serial else f"pimsim sweep, {workers} Dask worker(s)",
            "startup_s": summary.startup_s, "run_s": summary.run_s, "rate": summary.ran / summary.run_s}


def measure_pool(sweep: Path, processes: int) -> dict:
    """The machine's own ceiling: the same points on a plain process pool, no Dask, nothing stored."""
    spec, base_dir = load_sweep(sweep)
    tasks = [Task(p.key, spec.kind, p.task, p.seed) for p in plan_sweep(spec, base_dir)]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        startup_s = time.perf_counter() - start
        pool.map(execute, tasks[:processes], chunksize=1)        # warm: imports done in every process
        run_start = time.perf_counter()
        outcomes = pool.map(execute, tasks, chunksize=1)
        run_s = time.perf_counter() - run_start
    assert all(o.status == "ok" for o in outcomes)
    return {"label": f"plain process pool of {processes}", "startup_s": startup_s, "run_s": run_s,
            "rate": len(tasks) / run_s}


CONFIGS = [("sweep", None, True), ("sweep", 1, False), ("sweep", 2, False), ("pool", 1, False), ("pool", 2, False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=48, help="points in the sweep (multiple of 4)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each configuration; the fastest counts")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = write_sweep(folder, args.points)
        runs: dict[str, list] = {}
        for i in range(args.repeat):              # interleaved, so a busy spell hurts every configuration
            for what, workers, serial in CONFIGS:
                r = (measure(sweep, folder / f"{i}", workers, serial) if what == "sweep"
                     else measure_pool(sweep, workers))
                runs.setdefault(r["label"], []).append(r)
        rows = [max(rs, key=lambda r: r["rate"]) for rs in runs.values()]
    print(f"{args.points} dram-replay points on {os.cpu_count()} cores, best of {args.repeat} "
          f"(load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)")
    print(f"{'':<36} {'start-up s':>10} {'run s':>8} {'points/s':>9}")
    for r in rows:
        print(f"{r['label']:<36} {r['startup_s']:>10.2f} {r['run_s']:>8.2f} {r['rate']:>9.2f}")
    sweep_ratio = rows[2]["rate"] / rows[1]["rate"]
    pool_ratio = rows[4]["rate"] / rows[3]["rate"]
    print(f"2 vs 1 Dask worker: {sweep_ratio:.2f}x; 2 vs 1 plain processes (the machine's ceiling at the time): "
          f"{pool_ratio:.2f}x")


if __name__ == "__main__":
    main()
