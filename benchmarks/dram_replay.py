"""Simulation speed of the command-level DRAM model: requests per CPU-second.

Run: python benchmarks/dram_replay.py [--quick] [--repeat N]

Measures CPU time (time.process_time) of MemorySystem.replay for sequential and
random traffic, on one pseudo-channel and on all channels, for HBM2 and HBM3.
Each case runs N times (default 3); the table gives the median and the range,
since CPU time on a shared virtual machine varies from run to run. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

from pimsim.dram import microbench as mb
from pimsim.dram.memory import MemorySystem
from pimsim.dram.spec import load_dram

CASES = [
    ("sequential, one channel", lambda s, n: mb.seq_rotating_banks(s, n)),
    ("random, one channel", lambda s, n: mb.random_one_pc(s, n)),
    ("sequential, all channels", lambda s, n: mb.seq_all_channels(s, nbytes=n * 32 * 8, mapping="MOP4CLXOR")),
    ("random, all channels", lambda s, n: mb.random_all_channels(s, n * 8)),
]


def measure(device: str, build, n: int) -> tuple[int, float, float]:
    spec = load_dram(device)
    batch = build(spec, n)
    start = time.process_time()
    result = MemorySystem(spec).replay(batch)
    cpu = time.process_time() - start
    return len(batch), cpu, result.bandwidth_GBps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller traces, one run each (about 10 s in all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3; 1 with --quick)")
    args = parser.parse_args()
    n = 8192 if args.quick else 32768
    repeat = 1 if args.quick else max(1, args.repeat)
    print(f"{'device':<10} {'traffic':<26} {'requests':>9} {'CPU s':>7} {'requests/CPU-s':>15} "
          f"{'range':>17} {'GB/s sim.':>10}")
    for device in ("hbm2-2000", "hbm3-6400"):
        for name, build in CASES:
            runs = [measure(device, build, n) for _ in range(repeat)]
            reqs, bw = runs[0][0], runs[0][2]
            rates = [reqs / cpu for _, cpu, _ in runs]
            cpu = statistics.median(c for _, c, _ in runs)
            span = f"{min(rates):,.0f}-{max(rates):,.0f}"
            print(f"{device:<10} {name:<26} {reqs:>9,} {cpu:>7.2f} {statistics.median(rates):>15,.0f} {span:>17} "
                  f"{bw:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
