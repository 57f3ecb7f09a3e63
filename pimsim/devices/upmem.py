"""UPMEM PIM: DRAM Processing Units (DPUs) beside DDR4 banks, programmed by the host.

A DPU (350 MHz v1A, 400 MHz v1B) has 24 hardware tasklets on a 14-stage
revolver pipeline (full speed from 11 tasklets), 64 KB of WRAM scratchpad,
24 KB of IRAM (4,096 instructions) and a 64 MB MRAM bank reached through a
DMA engine. 8 DPUs make a chip, 64 a rank; a server holds up to 2,560. DPUs
cannot talk to each other: inputs come from the host and results go back to it
(:mod:`pimsim.devices.upmem_host`). An operator on this device is costed as

    launch + host->DPU inputs + DPU kernel + DPU->host outputs

where the kernel is a tasklet program (:mod:`pimsim.devices.upmem_kernels`)
simulated on one DPU (:mod:`pimsim.devices.upmem_dpu`); work is split evenly,
so the busiest DPU sets the time.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from fractions import Fraction

from pimsim.core.config import param
from pimsim.core.errors import ConfigError
from pimsim.devices import upmem_kernels as kernels
from pimsim.devices.base import Device, PresetConfig, preset_kind, ps_from_seconds
from pimsim.devices.upmem_dpu import DpuTiming, run_kernel
from pimsim.devices.upmem_host import HostLink, HostTransfer

UPMEM_TYPES = ("int8", "int32", "fp32")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dma:
    """MRAM <-> WRAM DMA: latency alpha + beta x bytes cycles (PrIM Sec. 3.2)."""

    read_alpha: int = param("Fixed cycles of an MRAM read (mram_read)", minimum=0)
    write_alpha: int = param("Fixed cycles of an MRAM write (mram_write)", minimum=0)
    beta: float = param("Cycles per byte", minimum=0)
    max_bytes: int = param("Largest single DMA (SDK limit)", unit="size", default="2KiB", minimum=8)
    alignment: int = param("DMA address and size granule", unit="size", default="8B", minimum=1)


@preset_kind("upmem")
@dataclasses.dataclass(frozen=True, kw_only=True)
class UpmemConfig(PresetConfig):
    """A set of UPMEM DPUs (a rank, a DIMM or a whole server)."""

    frequency: float = param("DPU clock", unit="frequency", minimum=1)
    tasklets: int = param("Hardware tasklets per DPU", minimum=1)
    pipeline_stages: int = param("Pipeline depth", minimum=1)
    issue_interval: int = param("Cycles between two instructions of one tasklet (full speed needs this many "
                                "tasklets)", minimum=1)
    wram: int = param("WRAM scratchpad per DPU", unit="size", minimum=1)
    iram_instructions: int = param("IRAM capacity in instructions", minimum=1)
    mram: int = param("MRAM bank per DPU", unit="size", minimum=1)
    dpus: int = param("DPUs in this device", minimum=1)
    dpus_per_chip: int = param("DPUs per chip", default=8, minimum=1)
    dpus_per_rank: int = param("DPUs per rank", default=64, minimum=1)
    dma: Dma = param("MRAM <-> WRAM DMA")
    host: HostTransfer = param("Host <-> DPU transfers")
    instructions: dict[str, float] = param("Instructions per operation (emulated ones included)")
    precision_by_bits: dict[str, str] = param("DPU element type for operands of this many bits",
                                              default={"4": "int8", "8": "int8", "16": "fp32", "32": "fp32"})
    kernel_tasklets: int = param("Tasklets the kernels use", default=16, minimum=1)
    block_bytes: int = param("MRAM block a kernel moves per DMA", unit="size", default="1KiB", minimum=8)
    inputs_from_host: bool = param("Operator inputs (not weights) come from the host", default=True)
    outputs_to_host: bool = param("Operator outputs go back to the host", default=True)

    def __post_init__(self):
        if self.tasklets > 24 or self.kernel_tasklets > self.tasklets:
            raise ConfigError(f"kernel_tasklets ({self.kernel_tasklets}) must not exceed tasklets "
                              f"({self.tasklets}), at most 24", "kernel_tasklets")
        if self.issue_interval > self.pipeline_stages:
            raise ConfigError(f"issue_interval ({self.issue_interval}) exceeds pipeline_stages "
                              f"({self.pipeline_stages})", "issue_interval")
        missing = [k for k in kernels.REQUIRED_INSTRUCTIONS if k not in self.instructions]
        if missing:
            raise ConfigError(f"missing instruction cost(s): {', '.join(missing)}", "instructions")
        for bits, t in self.precision_by_bits.items():
            if t not in UPMEM_TYPES:
                raise ConfigError(f"'{t}' is not one of {', '.join(UPMEM_TYPES)}", f"precision_by_bits.{bits}")
        if self.block_bytes > self.dma.max_bytes or self.block_bytes % self.dma.alignment:
            raise ConfigError(f"block_bytes ({self.block_bytes}) must be a multiple of {self.dma.alignment} "
                              f"and at most {self.dma.max_bytes}", "block_bytes")

    @property
    def timing(self) -> DpuTiming:
        return DpuTiming(self.issue_interval, self.dma.read_alpha, self.dma.write_alpha,
                         Fraction(self.dma.beta).limit_denominator(1000), self.dma.max_bytes)

    def derived(self) -> dict:
        f = self.frequency
        ops = {f"{op}_{t}": f / kernels.arithmetic_instructions(self.instructions, op, t) / 1e6
               for op, t in (("add", "int32"), ("mul", "int32"), ("add", "fp32"), ("mul", "fp32"))}
        return {"ranks": math.ceil(self.dpus / self.dpus_per_rank), "chips": math.ceil(self.dpus / self.dpus_per_chip),
                "mram_total_GiB": self.dpus * self.mram / 2**30,
                "dma_peak_MBps": f / self.dma.beta / 1e6 if self.dma.beta else None,
                "saturated_MOPS_per_dpu": ops}


@dataclasses.dataclass(frozen=True)
class UpmemTime:
    """Parts of one operator's cost on the DPUs, in seconds."""

    launch_s: float
    to_dpu_s: float
    kernel_s: float
    from_dpu_s: float
    dpus: int

    @property
    def total_s(self) -> float:
        return self.launch_s + self.to_dpu_s + self.kernel_s + self.from_dpu_s


class Upmem(Device, kind="upmem"):
    """All DPUs of one UPMEM device; an operator is split evenly over them."""

    supported_ops = ("gemv", "gemm", "attention_score", "attention_context", "softmax", "norm", "rope",
                     "activation", "kv_read", "kv_write", "embedding")

    def __init__(self, name, config, env=None):
        super().__init__(name, config, env)
        ranks = math.ceil(config.dpus / config.dpus_per_rank)
        self.host_link = HostLink(config.host, config.dpus_per_rank, ranks)

    @property
    def capacity_bytes(self) -> int:
        return self.config.dpus * self.config.mram

    def peak_flops(self) -> float:
        """One instruction per cycle per DPU (pipeline full): native 32-bit adds at that rate."""
        return self.config.dpus * self.config.frequency

    # -- building blocks ----------------------------------------------------
    def kernel_cycles(self, programs) -> int:
        return _kernel_cycles(self.config.timing, _freeze(programs))

    def seconds(self, cycles: int) -> float:
        return cycles / self.config.frequency

    def element_type(self, bits: int) -> str:
        try:
            return self.config.precision_by_bits[str(int(bits))]
        except KeyError:
            raise ConfigError(f"no DPU element type for {bits}-bit operands", "precision_by_bits") from None

    # -- operators -----------------------------------------------------------
    def _product(self, op, rows: int, cols: int, vectors: int):
        c = self.config
        matrix_bits = int(op.weight_bits if op.kind in ("gemv", "gemm") else op.kv_bits)  # weights or KV cache
        dtype = self.element_type(max(matrix_bits, int(op.activation_bits)))
        mac = kernels.mac_instructions(c.instructions, dtype)
        elem = max(1, matrix_bits // 8)
        vec = max(1, int(op.activation_bits) // 8)
        dpus = max(1, min(c.dpus, rows))
        per_dpu = math.ceil(rows / dpus)
        programs = kernels.gemv_programs(per_dpu, cols, elem_bytes=elem, vector_bytes=vec, out_bytes=vec, mac=mac,
                                         tasklets=c.kernel_tasklets, block_bytes=c.block_bytes, vectors=vectors)
        return programs, dpus

    def _kernel(self, op):
        """(programs of the busiest DPU, DPUs used) for ``op``."""
        c = self.config
        b, h, m = max(1, int(op.batch)), max(1, int(op.heads)), max(1, int(op.m))
        if op.kind in ("gemv", "gemm"):
            return self._product(op, int(op.n), int(op.k), m)
        if op.kind in ("attention_score", "attention_context"):
            # score: a key row (n = context) per (sequence, head) dotted with head_dim; context: an output
            # element (n = head_dim) per (sequence, head) summed over the context (k)
            return self._product(op, b * h * int(op.n), int(op.k), m)
        if op.kind in ("kv_read", "embedding"):
            nbytes = int(op.bytes_read)
            dpus = c.dpus
            elements = math.ceil(nbytes / dpus)
            return kernels.stream_programs(elements, elem_bytes=1, per_element=0, tasklets=c.kernel_tasklets,
                                           block_bytes=c.block_bytes, write_back=False), dpus
        if op.kind == "kv_write":
            return [], c.dpus  # written into MRAM by the host transfer itself
        elements = m * h * b * int(op.n) if op.kind == "softmax" else m * int(op.n)
        dpus = max(1, min(c.dpus, elements))
        per_element = kernels.elementwise_instructions(c.instructions, op.kind)
        row_cost = kernels.instr(c.instructions, "div_fp32") if op.kind == "norm" else 0
        programs = kernels.stream_programs(math.ceil(elements / dpus), elem_bytes=4, per_element=per_element,
                                           tasklets=c.kernel_tasklets, block_bytes=c.block_bytes,
                                           row_elements=int(op.n), row_overhead=row_cost)
        return programs, dpus

    def breakdown(self, op) -> UpmemTime:
        """Launch, transfers in, kernel and transfers out of ``op``."""
        self.check_supported(op)
        c, link = self.config, self.host_link
        programs, dpus = self._kernel(op)
        kernel_s = self.seconds(self.kernel_cycles(programs)) if programs else 0.0
        to_dpu = from_dpu = 0.0
        inputs = int(op.bytes_read) - int(op.weight_bytes)
        if op.kind == "kv_write":
            to_dpu = link.seconds(math.ceil(int(op.bytes_written) / dpus), dpus, "to_dpu", "parallel")
        elif c.inputs_from_host and inputs > 0 and op.kind not in ("kv_read", "embedding"):
            if op.kind in ("gemv", "gemm"):
                to_dpu = link.seconds(inputs, dpus, "to_dpu", "broadcast")  # every DPU needs all of x
            else:
                to_dpu = link.seconds(math.ceil(inputs / dpus), dpus, "to_dpu", "parallel")
        if c.outputs_to_host and int(op.bytes_written) > 0 and op.kind != "kv_write":
            from_dpu = link.seconds(math.ceil(int(op.bytes_written) / dpus), dpus, "from_dpu", "parallel")
        return UpmemTime(c.host.launch_overhead / 1e12, to_dpu, kernel_s, from_dpu, dpus)

    def cost_ps(self, op) -> int:
        """Cost of ``op``; operators of the same shape (every layer's) are simulated once."""
        key = (op.kind, int(op.m), int(op.n), int(op.k), int(op.heads), int(op.head_dim), int(op.batch),
               int(op.seq), int(op.weight_bits), int(op.activation_bits), int(op.kv_bits), int(op.flops),
               int(op.bytes_read), int(op.bytes_written), int(op.weight_bytes))
        cache = self.__dict__.setdefault("_cost_cache", {})
        if key not in cache:
            cache[key] = ps_from_seconds(self.breakdown(op).total_s)
        return cache[key]


def _freeze(programs):
    return tuple(tuple((repeat, tuple(steps)) for repeat, steps in program) for program in programs)


@functools.lru_cache(maxsize=4096)
def _kernel_cycles(timing: DpuTiming, programs) -> int:
    return run_kernel(programs, timing).cycles
