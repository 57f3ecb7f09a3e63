"""PrIM's micro-benchmarks run on the UPMEM model: what the validation tests and plots measure.

Each function sets up one experiment of Gomez-Luna et al. (PrIM, IEEE Access
2022) on the model and returns what the paper plots:

* :func:`arithmetic_mops` — Fig. 4: operations per second of one DPU vs tasklets;
* :func:`dma_cycles` / :func:`dma_bandwidth` — Sec. 3.2: MRAM <-> WRAM latency and bandwidth vs size;
* :func:`host_bandwidth` — Figs. 10-11: CPU <-> DPU bandwidth, serial / parallel / broadcast;
* :func:`gemv` — Figs. 12-14: PrIM's GEMV (uint32, rows split over DPUs), kernel and transfers.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.devices import upmem_kernels as kernels
from pimsim.devices.upmem_dpu import run_kernel
from pimsim.devices.upmem_host import HostLink


def arithmetic_mops(config, op: str, dtype: str, tasklets: int, elements_per_tasklet: int = 1024) -> float:
    """Million operations per second of one DPU running ``op`` on ``tasklets`` tasklets."""
    programs = kernels.arithmetic_programs(config.instructions, op, dtype, tasklets, elements_per_tasklet)
    cycles = run_kernel(programs, config.timing).cycles
    return tasklets * elements_per_tasklet / (cycles / config.frequency) / 1e6


def dma_cycles(config, nbytes: int, write: bool = False, tasklets: int = 1) -> int:
    """Cycles for ``tasklets`` tasklets each moving ``nbytes`` between MRAM and WRAM at once."""
    step = ("write" if write else "read", nbytes)
    return run_kernel([[(1, [step])] for _ in range(tasklets)], config.timing).cycles


def dma_bandwidth(config, nbytes: int, write: bool = False, tasklets: int = 1) -> float:
    """Sustained MRAM <-> WRAM bandwidth in bytes per second."""
    return tasklets * nbytes * config.frequency / dma_cycles(config, nbytes, write, tasklets)


def host_link(config) -> HostLink:
    return HostLink(config.host, config.dpus_per_rank, math.ceil(config.dpus / config.dpus_per_rank))


def host_bandwidth(config, dpus: int, mode: str = "parallel", direction: str = "to_dpu",
                   bytes_per_dpu: int = 32 << 20) -> float:
    """Sustained host <-> DPU bandwidth (bytes/s over all DPUs) for one transfer."""
    return host_link(config).bandwidth(bytes_per_dpu, dpus, direction, mode)


@dataclasses.dataclass(frozen=True)
class GemvTime:
    """PrIM GEMV on n DPUs: where the time goes (seconds)."""

    dpus: int
    cpu_to_dpu_s: float
    kernel_s: float
    dpu_to_cpu_s: float

    @property
    def total_s(self) -> float:
        return self.cpu_to_dpu_s + self.kernel_s + self.dpu_to_cpu_s

    @property
    def transfer_share(self) -> float:
        return (self.cpu_to_dpu_s + self.dpu_to_cpu_s) / self.total_s


def gemv(config, rows: int, cols: int, dpus: int, dtype: str = "int32", elem_bytes: int = 4,
         tasklets: int = 16, block_bytes: int = 1024) -> GemvTime:
    """PrIM's GEMV: matrix rows split over DPUs and their tasklets, the accumulator kept in WRAM.

    Host side as PrIM times it: the matrix slices go to the DPUs in parallel, the
    vector is broadcast, the results come back in parallel.
    """
    per_dpu = math.ceil(rows / dpus)
    mac = kernels.mac_instructions(config.instructions, dtype, accumulate_in_wram=True)
    programs = kernels.gemv_programs(per_dpu, cols, elem_bytes=elem_bytes, vector_bytes=elem_bytes,
                                     out_bytes=elem_bytes, mac=mac, tasklets=tasklets, block_bytes=block_bytes)
    kernel_s = run_kernel(programs, config.timing).cycles / config.frequency
    link = host_link(config)
    to_dpu = (link.seconds(per_dpu * cols * elem_bytes, dpus, "to_dpu", "parallel")
              + link.seconds(cols * elem_bytes, dpus, "to_dpu", "broadcast"))
    from_dpu = link.seconds(per_dpu * elem_bytes, dpus, "from_dpu", "parallel")
    return GemvTime(dpus, to_dpu, kernel_s, from_dpu)
