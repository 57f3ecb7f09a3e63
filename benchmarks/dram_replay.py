"""Simulation speed of the command-level DRAM model: requests per CPU-second.

Run: python benchmarks/dram_replay.py [--quick]

Measures CPU time (time.process_time) of MemorySystem.replay for sequential and
random traffic, on one pseudo-channel and on all channels, for HBM2 and HBM3.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--quick", action="store_true", help="smaller traces (about 10 s in all)")
    args = parser.parse_args()
    n = 8192 if args.quick else 32768
    print(f"{'device':<10} {'traffic':<26} {'requests':>9} {'CPU s':>7} {'requests/CPU-s':>15} {'GB/s sim.':>10}")
    for device in ("hbm2-2000", "hbm3-6400"):
        for name, build in CASES:
            reqs, cpu, bw = measure(device, build, n)
            print(f"{device:<10} {name:<26} {reqs:>9,} {cpu:>7.2f} {reqs / cpu:>15,.0f} {bw:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
