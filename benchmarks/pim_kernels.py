"""Simulation speed of the PIM kernels at both fidelities: simulated time per CPU-second.

Run: python benchmarks/pim_kernels.py [--quick]

For each device and kernel it times (time.process_time) the command level and
the tile level on the same shape and prints simulated microseconds per
CPU-second for both and their ratio. The command level simulates one
representative channel (every channel of these kernels runs the same stream);
the headline case, an 8192x8192 FP16 GEMV on a full HBM3-PIM stack, is also run
with every channel simulated, as a simulator without that shortcut would.
Tile times are the mean of repeated warm calls (timing tables compiled once per
device). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import time

from pimsim.pim import api
from pimsim.pim.aim_system import AimSystem
from pimsim.pim.engine import HostChannel
from pimsim.pim.kernels import aim as kaim
from pimsim.pim.kernels import host as khost
from pimsim.pim.kernels.plans import gemv_plan
from pimsim.pim.runner import host_scopes

CASES = [  # device, kernel, arguments
    ("gddr6-aim-pim", "gemv", dict(m=4096, k=4096)),
    ("gddr6-aim-pim", "mul", dict(n=2**22)),
    ("gddr6-aim-pim", "attention", dict(seq=4096, heads=32, head_dim=128)),
    ("hbm-pim", "gemv", dict(m=4096, k=4096)),
    ("hbm-pim", "add", dict(n=2**22)),
    ("hbm-pim", "attention", dict(seq=4096, heads=32, head_dim=128)),
    ("hbm3-pim", "gemv", dict(m=8192, k=8192)),
    ("hbm3-pim", "attention", dict(seq=4096, heads=96, head_dim=128, batch=4)),
    ("hbm3-pim-bg", "gemv", dict(m=4096, k=4096)),
    ("hbm3-pim-buffer", "gemv", dict(m=2048, k=2048)),
]


def call(device, kernel, args, fidelity):
    if kernel == "gemv":
        return api.gemv(device, fidelity=fidelity, **args)
    if kernel in ("add", "mul"):
        return api.elementwise(device, kernel, fidelity=fidelity, **args)
    return api.attention(device, fidelity=fidelity, **args)


def cpu(fn, repeat: int = 1) -> tuple[float, object]:
    start = time.process_time()
    for _ in range(repeat):
        out = fn()
    return (time.process_time() - start) / repeat, out


def all_channels_gemv(device: str, m: int, k: int) -> float:
    """CPU seconds of a command-level GEMV with every channel (and pseudo-channel) simulated."""
    spec = api.device(device)
    tables = spec.tables()
    if spec.arch.architecture == "aim":
        plan = gemv_plan(spec, m, k, spec.channels)
        isrs = kaim.gemv_isrs(plan, spec.channels)
        return cpu(lambda: AimSystem(tables, isrs, refresh=True, collapse=False).run())[0]
    layout = khost.HostLayout(spec)
    plan = gemv_plan(spec, m, k, spec.channels, layout.streams)
    requests = khost.gemv_requests(layout, plan)
    start = time.process_time()
    for _ in range(spec.channels * layout.streams):
        HostChannel(tables, refresh=True, scopes=host_scopes(spec)).run(requests)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slowest command-level cases")
    args = parser.parse_args()
    print(f"{'device':<16} {'kernel':<10} {'simulated':>11} {'cmd CPU s':>10} {'tile CPU ms':>12} "
          f"{'cmd us/CPU-s':>13} {'tile us/CPU-s':>14} {'ratio':>8} {'tile err':>9}")
    for device, kernel, kwargs in CASES:
        if args.quick and device == "hbm3-pim-buffer":
            continue
        call(device, kernel, {**kwargs, **({"m": 64, "k": 64} if kernel == "gemv" else {})}, "tile")  # warm up
        c_s, c = cpu(functools.partial(call, device, kernel, kwargs, "command"))
        t_s, t = cpu(functools.partial(call, device, kernel, kwargs, "tile"), repeat=20)
        sim_us = c.time_ps / 1e6
        print(f"{device:<16} {kernel:<10} {sim_us:>9.1f}us {c_s:>10.3f} {1e3 * t_s:>12.3f} {sim_us / c_s:>13,.0f} "
              f"{t.time_ps / 1e6 / t_s:>14,.0f} {c_s / t_s:>7,.0f}x {100 * (t.time_ps / c.time_ps - 1):>+8.2f}%",
              flush=True)
    print()
    spec = api.device("hbm3-pim")
    t_s, t = cpu(lambda: api.gemv(spec, 8192, 8192), repeat=50)
    full = all_channels_gemv("hbm3-pim", 8192, 8192)
    print(f"8192x8192 FP16 GEMV on a full HBM3-PIM stack ({spec.channels} channels, MAC units per bank): "
          f"{t.time_ps / 1e6:.2f} us simulated")
    print(f"  tile level:    {1e3 * t_s:.3f} ms CPU")
    print(f"  command level: {full:.3f} s CPU with all {spec.channels} channels simulated "
          f"-> tile is {full / t_s:,.0f}x faster")


if __name__ == "__main__":
    main()
