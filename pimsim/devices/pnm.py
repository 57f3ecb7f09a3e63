"""Near-memory units (PNM): the element-wise work beside a PIM device.

CENT puts these on each device's CXL controller: 32 accelerators of 16 SIMD
lanes for softmax/exponent (11 cycles per lane operation), reductions
(an adder tree over the lanes), RMSNorm/LayerNorm (26 cycles for the inverse
square root of a row) and rotary embedding, driven by 8 RISC-V cores. PIM
memory does the matrix work; these units do what PIM MAC units cannot.

Costs: a lane does one simple operation (add, multiply, compare) per cycle and
an exponent in ``exp_cycles``; element counts come from the operator's FLOPs
with the trace's per-element conventions (:mod:`pimsim.trace.shard`). Rows end
in a tree reduction of log2(lanes) cycles. Data reaches the units at
``internal_bw`` (from the device's memory channels) and overlaps compute.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.config import param
from pimsim.devices.base import Device, PresetConfig, preset_kind, ps_from_seconds
from pimsim.trace.shard import NORM_FLOPS, SOFTMAX_FLOPS

SIMPLE_OPS_PER_SOFTMAX = SOFTMAX_FLOPS - 1   # max, subtract, sum, divide; the exponent is costed apart
SIMPLE_OPS_PER_ACTIVATION = 3                # SiLU: negate, add one, divide (plus one exponent)


@preset_kind("pnm")
@dataclasses.dataclass(frozen=True, kw_only=True)
class PnmConfig(PresetConfig):
    """Near-memory processing units on a device controller."""

    frequency: float = param("Clock of the units", unit="frequency", minimum=1)
    accelerators: int = param("SIMD accelerators", minimum=1)
    lanes_per_accelerator: int = param("SIMD lanes per accelerator", minimum=1)
    exp_cycles: int = param("Cycles of one exponent on one lane", minimum=1)
    rsqrt_cycles: int = param("Cycles of the inverse square root that ends a norm row", minimum=1)
    cores: int = param("Control cores (RISC-V) that sequence the units", default=1, minimum=1)
    internal_bw: float = param("Bandwidth from the device memory to the units", unit="bandwidth", minimum=1)
    op_overhead: int = param("Fixed time per operator (core dispatch)", unit="time", default="0ns")

    @property
    def lanes(self) -> int:
        return self.accelerators * self.lanes_per_accelerator

    def derived(self) -> dict:
        return {"lanes": self.lanes, "peak_simple_GOPS": self.lanes * self.frequency / 1e9,
                "peak_exp_GOPS": self.lanes * self.frequency / self.exp_cycles / 1e9}


class Pnm(Device, kind="pnm"):
    """Near-memory units beside one PIM device."""

    supported_ops = ("softmax", "norm", "rope", "activation")

    def _tree(self) -> int:
        return max(1, math.ceil(math.log2(self.config.lanes)))

    def compute_cycles(self, op) -> int:
        """Cycles of ``op``'s arithmetic on the lanes."""
        self.check_supported(op)
        c, lanes = self.config, self.config.lanes
        rows = max(1, int(op.m)) * max(1, int(op.heads)) * max(1, int(op.batch))
        if op.kind == "softmax":
            elements = int(op.flops) // SOFTMAX_FLOPS
            per_element = c.exp_cycles + SIMPLE_OPS_PER_SOFTMAX
            return math.ceil(elements / lanes) * per_element + 2 * rows * self._tree()  # max and sum trees
        if op.kind == "norm":
            elements = int(op.m) * int(op.n)
            per_element = NORM_FLOPS["rmsnorm"] if int(op.flops) <= NORM_FLOPS["rmsnorm"] * elements else \
                NORM_FLOPS["layernorm"]
            return math.ceil(elements / lanes) * per_element + int(op.m) * (self._tree() + c.rsqrt_cycles)
        if op.kind == "rope":  # one lane operation per FLOP
            return math.ceil(int(op.flops) / lanes)
        elements = int(op.m) * int(op.n)  # activation
        return math.ceil(elements / lanes) * (c.exp_cycles + SIMPLE_OPS_PER_ACTIVATION)

    def cost_ps(self, op) -> int:
        c = self.config
        compute_s = self.compute_cycles(op) / c.frequency
        memory_s = (int(op.bytes_read) + int(op.bytes_written)) / c.internal_bw
        return ps_from_seconds(c.op_overhead / 1e12 + max(compute_s, memory_s))

