"""Near-memory units (PNM): the element-wise work beside a PIM device.

CENT puts these on each device's CXL controller: 32 accelerators of 16 SIMD
lanes (exponent, vector add, reduction) reading the shared buffers of the
device's channels, and 8 RISC-V cores for the scalar ends of RMSNorm and
softmax and for the rotary embedding. PIM memory does the matrix work; these
units do what PIM MAC units cannot.

Costs follow CENT's own model (Yufeng98/CENT 8c79786,
``cent_simulation/cent_power_calculator.py`` constants, ``run_sim.py``
``calculate_acc_latency``), in cycles of the units' clock:

* a *vector pass* reads two operands from each of the ``channels`` channel
  buffers and adds: ``VEC = channels * 2 * rd + 1 + wr`` (66); an *exponent
  pass* reads one: ``EXP = channels * rd + exp_cycles + wr`` (44); a pass
  covers 16 elements of each channel's buffer;
* softmax over E = heads x context scores: ``E / (16 channels) * (EXP + VEC)``
  (exponent, then the sum), plus per head one reduction read and the RISC-V
  step ``lanes * wr + softmax_core_cycles / cores + rd`` (17.25);
* RMSNorm of an n-vector: ``n / (256 channels) * VEC`` (the PIM MACs have
  already reduced x^2 sixteen-fold), ``rd + wr + 1`` for the reduction and
  ``rmsnorm_cycles`` on a core for the inverse square root;
* rotary embedding of n elements (q and k): ``n * rotary_cycles / cores``;
* activation (SiLU and gate) — not in CENT's model, which applies it with the
  AiM activation unit during the up-projection GEMV: here an exponent pass and
  two vector passes per 16 elements of each channel's buffer.

A row of a batch (one token) pays its own per-row steps. The units serve the
operators of all blocks a device holds, one at a time (the module's shared
unit); CENT instead charges every block the work of all of them
(``acc_latency * blocks_per_device``, run_sim.py:201), as if they ran in lockstep.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.config import param
from pimsim.devices.base import Device, PresetConfig, preset_kind, ps_from_seconds
from pimsim.trace.shard import SOFTMAX_FLOPS

PASS_ELEMS = 16                 # elements of one channel's buffer a pass covers
NORM_REDUCTION = 16             # x^2 partial sums the PIM MACs leave per 16 elements


@preset_kind("pnm")
@dataclasses.dataclass(frozen=True, kw_only=True)
class PnmConfig(PresetConfig):
    """Near-memory processing units on a device controller."""

    frequency: float = param("Clock of the units", unit="frequency", minimum=1)
    accelerators: int = param("SIMD accelerators", minimum=1)
    lanes_per_accelerator: int = param("SIMD lanes per accelerator", minimum=1)
    channels: int = param("Memory channels whose shared buffers a pass reads, one after another", minimum=1)
    buffer_read_cycles: int = param("Cycles to read one channel's shared buffer", default=1, minimum=0)
    buffer_write_cycles: int = param("Cycles to write a result back", default=1, minimum=0)
    exp_cycles: int = param("Cycles of the exponent on a lane", minimum=1)
    cores: int = param("Control cores (RISC-V) that run the scalar steps", default=1, minimum=1)
    rmsnorm_cycles: int = param("Core cycles of the inverse square root that ends an RMSNorm row", minimum=0)
    rotary_cycles: int = param("Core cycles per rotated element (spread over the cores)", minimum=0)
    softmax_core_cycles: int = param("Core cycles per softmax head (spread over the cores)", default=2, minimum=0)
    op_overhead: int = param("Fixed time per operator (core dispatch)", unit="time", default="0ns")

    @property
    def lanes(self) -> int:
        return self.accelerators * self.lanes_per_accelerator

    @property
    def vec_cycles(self) -> int:
        """One vector pass: two operands from every channel buffer, an add, a write (CENT's VEC)."""
        return self.channels * 2 * self.buffer_read_cycles + 1 + self.buffer_write_cycles

    @property
    def exp_pass_cycles(self) -> int:
        """One exponent pass: one operand from every channel buffer, the exponent, a write (CENT's EXP)."""
        return self.channels * self.buffer_read_cycles + self.exp_cycles + self.buffer_write_cycles

    def derived(self) -> dict:
        elems = PASS_ELEMS * self.channels
        return {"lanes": self.lanes, "vec_pass_cycles": self.vec_cycles, "exp_pass_cycles": self.exp_pass_cycles,
                "softmax_Gscores_per_s": elems / (self.vec_cycles + self.exp_pass_cycles) * self.frequency / 1e9}


class Pnm(Device, kind="pnm"):
    """Near-memory units beside one PIM device."""

    supported_ops = ("softmax", "norm", "rope", "activation")

    def compute_cycles(self, op) -> float:
        """Cycles of ``op`` on the units (CENT's formulas; see the module docstring)."""
        self.check_supported(op)
        c = self.config
        rd, wr = c.buffer_read_cycles, c.buffer_write_cycles
        per_pass = PASS_ELEMS * c.channels
        rows = max(1, int(op.m)) * max(1, int(op.batch))
        if op.kind == "softmax":
            scores = int(op.flops) // SOFTMAX_FLOPS
            heads = rows * max(1, int(op.heads))
            core = c.lanes_per_accelerator * wr + c.softmax_core_cycles / c.cores + rd
            return scores / per_pass * (c.exp_pass_cycles + c.vec_cycles) + heads * (rd + core)
        if op.kind == "norm":
            passes = int(op.n) / (NORM_REDUCTION * per_pass)
            return max(1, int(op.m)) * (passes * c.vec_cycles + rd + wr + 1 + c.rmsnorm_cycles)
        if op.kind == "rope":
            return max(1, int(op.m)) * int(op.n) * c.rotary_cycles / c.cores
        elements = max(1, int(op.m)) * int(op.n)                   # activation
        return elements / per_pass * (c.exp_pass_cycles + 2 * c.vec_cycles)

    def cost_ps(self, op) -> int:
        c = self.config
        return ps_from_seconds(c.op_overhead / 1e12 + math.ceil(self.compute_cycles(op)) / c.frequency)
