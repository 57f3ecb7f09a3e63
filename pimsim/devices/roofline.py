"""The roofline cost of an operator: the slower of its arithmetic and its memory traffic.

    t = launch + max(flops / (peak x compute_efficiency x utilisation),
                     bytes / (bandwidth x memory_efficiency x utilisation))

This is AttAcc's GPU model (compute at 80 % and memory at 85 % of peak, times an
SM utilisation); the factors are parameters of each preset, not constants here.
Processors that are not GPUs (the host CPU) use the same form.
"""

from __future__ import annotations

import dataclasses

from pimsim.core.config import param
from pimsim.devices.base import Device, check_fraction, ps_from_seconds

#: Operator kinds that run on matrix units (tensor cores); the rest use vector peak.
MATRIX_KINDS = frozenset({"gemm", "gemv", "attention_score", "attention_context", "moe_router", "expert_ffn"})
#: Operator kinds a roofline processor runs (collectives go over links, see pimsim.system.network).
COMPUTE_KINDS = ("gemm", "gemv", "attention_score", "softmax", "attention_context", "kv_read", "kv_write",
                 "norm", "activation", "rope", "embedding", "moe_router", "expert_ffn")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Efficiency:
    """Fractions of peak a real kernel reaches (AttAcc: 0.8 compute, 0.85 memory)."""

    compute: float = param("Fraction of peak FLOPS a kernel reaches", default=0.8)
    memory: float = param("Fraction of peak memory bandwidth a kernel reaches", default=0.85)
    utilisation: float = param("Fraction of SMs / cores the kernel occupies (scales both)", default=1.0)

    def __post_init__(self):
        for key in ("compute", "memory", "utilisation"):
            check_fraction(getattr(self, key), f"efficiency.{key}")


@dataclasses.dataclass(frozen=True)
class RooflineTime:
    """The parts of one roofline cost, in seconds."""

    compute_s: float
    memory_s: float
    launch_s: float

    @property
    def total_s(self) -> float:
        return self.launch_s + max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


def roofline(flops: float, nbytes: float, peak_flops: float, bandwidth_Bps: float, eff: Efficiency,
             launch_s: float = 0.0) -> RooflineTime:
    """Roofline time of ``flops`` arithmetic and ``nbytes`` memory traffic."""
    compute = flops / (peak_flops * eff.compute * eff.utilisation) if flops else 0.0
    memory = nbytes / (bandwidth_Bps * eff.memory * eff.utilisation) if nbytes else 0.0
    return RooflineTime(compute, memory, launch_s)


class RooflineDevice(Device):
    """A processor costed by :func:`roofline`; subclasses say which peak applies to an operator."""

    supported_ops = COMPUTE_KINDS

    def peak_for(self, op) -> float:
        raise NotImplementedError

    @property
    def memory_bw_Bps(self) -> float:
        return self.config.memory_bw

    @property
    def capacity_bytes(self) -> int:
        return self.config.memory_capacity

    def breakdown(self, op) -> RooflineTime:
        """Compute, memory and launch parts of ``op``'s cost."""
        self.check_supported(op)
        nbytes = int(op.bytes_read) + int(op.bytes_written)
        extra = getattr(self.config, "kernel_overhead_ps", {}).get(op.kind, 0)
        return roofline(int(op.flops), nbytes, self.peak_for(op), self.memory_bw_Bps, self.config.efficiency,
                        (self.config.launch_overhead + extra) / 1e12)

    def cost_ps(self, op) -> int:
        return ps_from_seconds(self.breakdown(op).total_s)
