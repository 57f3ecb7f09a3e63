"""An NPU: weight-stationary systolic arrays, vector units, on-chip SRAM, DRAM behind it.

NeuPIMs' NPU is 8 systolic arrays of 128 x 128 and 8 vector units of width 128
at 1 GHz with about 128 MB of SRAM, in front of HBM. A product
``(m x k) @ (k x n)`` is cut into weight tiles of ``rows x cols`` (k by rows, n
by columns); each tile is loaded into an array, the m activation rows stream
through it (m cycles) and the pipeline fills and drains (rows + cols - 1
cycles). Tiles are dealt round-robin to the arrays. With
``weight_double_buffer`` the next tile's weights load while the current one
computes, except the first. Element-wise operators run on the vector units at
one operation per lane per cycle (``vector_ops_per_lane``). Memory traffic
moves at the DRAM preset's peak bandwidth times ``memory_efficiency`` and
overlaps compute; if an operator's activations exceed the SRAM they are
re-read once per group of column tiles.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.config import param
from pimsim.core.errors import ConfigError
from pimsim.devices.base import Device, PresetConfig, check_fraction, preset_kind, ps_from_seconds
from pimsim.devices.roofline import COMPUTE_KINDS, MATRIX_KINDS


@dataclasses.dataclass(frozen=True, kw_only=True)
class NpuMemory:
    """The DRAM behind the NPU: a DRAM preset and how many of its devices (stacks)."""

    preset: str = param("DRAM preset name (devices/*.yaml, kind: dram)")
    devices: int = param("Number of such devices (stacks)", default=1, minimum=1)
    efficiency: float = param("Fraction of peak bandwidth reached by streaming", default=0.9)

    def __post_init__(self):
        from pimsim.dram.spec import load_dram

        check_fraction(self.efficiency, "memory.efficiency")
        try:
            spec = load_dram(self.preset)
        except ConfigError as exc:
            raise ConfigError(exc.message, f"memory.preset ({exc.where or self.preset})") from None
        object.__setattr__(self, "spec", spec)

    @property
    def peak_bw_Bps(self) -> float:
        return self.spec.peak_bw_Bps * self.devices

    @property
    def capacity_bytes(self) -> int:
        return self.spec.capacity_bytes * self.devices


@preset_kind("npu")
@dataclasses.dataclass(frozen=True, kw_only=True)
class NpuConfig(PresetConfig):
    """An NPU core with its memory."""

    frequency: float = param("Core clock", unit="frequency", minimum=1)
    systolic_arrays: int = param("Systolic arrays", minimum=1)
    array_rows: int = param("Rows of one array (reduction dimension of a weight tile)", minimum=1)
    array_cols: int = param("Columns of one array (output dimension of a weight tile)", minimum=1)
    vector_units: int = param("Vector units", minimum=1)
    vector_width: int = param("Lanes per vector unit", minimum=1)
    vector_ops_per_lane: float = param("Element operations per lane per cycle", default=1.0)
    sram: int = param("On-chip SRAM (scratchpad)", unit="size", minimum=1)
    weight_double_buffer: bool = param("Load the next weight tile while the current one computes", default=True)
    op_overhead: int = param("Fixed time per operator (dispatch, synchronisation)", unit="time", default="0ns")
    serial_attention: bool = param(
        "Attention GEMVs run one (sequence, head) at a time, each paying the array's fill and drain and one "
        "stationary-operand load per reduction tile (NeuPIMs' NPU); false: batched over the arrays",
        default=False)
    memory: NpuMemory = param("DRAM behind the NPU")

    def derived(self) -> dict:
        macs = self.systolic_arrays * self.array_rows * self.array_cols
        return {"peak_matrix_TFLOPS": 2 * macs * self.frequency / 1e12,
                "peak_vector_GOPS": self.vector_units * self.vector_width * self.vector_ops_per_lane
                * self.frequency / 1e9,
                "memory_peak_bw_GBps": self.memory.peak_bw_Bps / 1e9,
                "memory_capacity_GiB": self.memory.capacity_bytes / 2**30}


@dataclasses.dataclass(frozen=True)
class NpuTime:
    """Parts of one operator's cost on the NPU."""

    compute_cycles: int
    memory_s: float
    overhead_s: float
    frequency: float

    @property
    def compute_s(self) -> float:
        return self.compute_cycles / self.frequency

    @property
    def total_s(self) -> float:
        return self.overhead_s + max(self.compute_s, self.memory_s)


class Npu(Device, kind="npu"):
    """One NPU core and its DRAM."""

    def peak_flops(self) -> float:
        """Systolic arrays at one multiply-accumulate (2 FLOPs) per cell per cycle."""
        c = self.config
        return 2 * c.systolic_arrays * c.array_rows * c.array_cols * c.frequency

    supported_ops = COMPUTE_KINDS

    @property
    def capacity_bytes(self) -> int:
        return self.config.memory.capacity_bytes

    def gemm_cycles(self, m: int, n: int, k: int, count: int = 1) -> int:
        """Cycles of ``count`` independent ``(m x k) @ (k x n)`` products, weight-stationary."""
        c = self.config
        if min(m, n, k, count) <= 0:
            return 0
        tiles = count * math.ceil(k / c.array_rows) * math.ceil(n / c.array_cols)
        stream = m + c.array_rows + c.array_cols - 1
        load = c.array_rows
        rounds = math.ceil(tiles / c.systolic_arrays)
        if c.weight_double_buffer:
            return rounds * max(stream, load) + load
        return rounds * (stream + load)

    def vector_cycles(self, operations: int) -> int:
        c = self.config
        return math.ceil(operations / (c.vector_units * c.vector_width * c.vector_ops_per_lane))

    def serial_gemv_cycles(self, n: int, k: int, count: int) -> int:
        """``count`` dependent-free but unbatched GEMVs (k -> n), one after another.

        Each pays the fill and drain of one array pass, then per reduction tile either
        the load of the stationary vector tile or the stream of its outputs spread over
        the arrays, whichever is longer.
        """
        c = self.config
        tiles = math.ceil(k / c.array_rows)
        per = (c.array_rows + c.array_cols - 1) + tiles * max(c.array_rows, math.ceil(n / c.systolic_arrays))
        return count * per

    def _matrix_shape(self, op) -> tuple[int, int, int, int]:
        count = max(1, int(op.batch) * int(op.heads)) if op.kind.startswith("attention") else 1
        m, n, k = max(1, int(op.m)), int(op.n), int(op.k)
        if op.kind in ("expert_ffn", "moe_router") and m * k:
            n = math.ceil(int(op.flops) / (2 * m * k))
        return m, n, k, count

    def _spill_bytes(self, op, m: int, n: int, k: int, count: int) -> int:
        """Activations re-read from DRAM when they do not fit the SRAM."""
        a_bytes = max(1, int(op.activation_bits) // 8)
        working = count * m * (k + n) * a_bytes
        if working <= self.config.sram:
            return 0
        col_groups = math.ceil(n / (self.config.array_cols * self.config.systolic_arrays))
        return (col_groups - 1) * count * m * k * a_bytes

    def breakdown(self, op) -> NpuTime:
        self.check_supported(op)
        c = self.config
        nbytes = int(op.bytes_read) + int(op.bytes_written)
        if op.kind in MATRIX_KINDS:
            m, n, k, count = self._matrix_shape(op)
            if c.serial_attention and op.kind.startswith("attention") and m == 1:    # decode GEMVs only
                cycles = self.serial_gemv_cycles(n, k, count * m)
            else:
                cycles = self.gemm_cycles(m, n, k, count)
            nbytes += self._spill_bytes(op, m, n, k, count)
        elif op.kind in ("kv_read", "kv_write", "embedding"):
            cycles = 0
        else:
            cycles = self.vector_cycles(int(op.flops))
        memory_s = nbytes / (c.memory.peak_bw_Bps * c.memory.efficiency) if nbytes else 0.0
        return NpuTime(cycles, memory_s, c.op_overhead / 1e12, c.frequency)

    def cost_ps(self, op) -> int:
        return ps_from_seconds(self.breakdown(op).total_s)
