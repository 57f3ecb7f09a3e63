"""A GPU: peak throughput by precision, HBM bandwidth and capacity, kernel launch cost.

Each operator is one kernel costed by the roofline (:mod:`pimsim.devices.roofline`):
matrix products at the tensor-core peak of the operator's activation
precision, element-wise operators at the vector (CUDA-core) peak, memory at
the HBM bandwidth, both derated by the preset's efficiency factors, plus a
launch overhead. Tensor-parallel all-reduce is not a GPU kernel here: it runs
over the NVLink links of the system (:func:`pimsim.system.network.Network.allreduce`).
"""

from __future__ import annotations

import dataclasses

from pimsim.core.config import param
from pimsim.core.errors import ConfigError
from pimsim.devices.base import PresetConfig, preset_kind
from pimsim.devices.roofline import MATRIX_KINDS, Efficiency, RooflineDevice

PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PeakCompute:
    """Dense peak throughput by precision (leave out what the part lacks)."""

    fp64: float | None = param("FP64 tensor-core peak", unit="flops", default=None)
    fp32: float | None = param("FP32 peak", unit="flops", default=None)
    tf32: float | None = param("TF32 tensor-core peak (dense)", unit="flops", default=None)
    fp16: float | None = param("FP16 tensor-core peak (dense)", unit="flops", default=None)
    bf16: float | None = param("BF16 tensor-core peak (dense)", unit="flops", default=None)
    fp8: float | None = param("FP8 tensor-core peak (dense)", unit="flops", default=None)
    int8: float | None = param("INT8 tensor-core peak (dense)", unit="flops", default=None)
    int4: float | None = param("INT4 tensor-core peak (dense)", unit="flops", default=None)
    vector: float = param("Peak of element-wise work on the vector (CUDA) cores", unit="flops")

    def of(self, precision: str) -> float | None:
        return getattr(self, precision)


@preset_kind("gpu")
@dataclasses.dataclass(frozen=True, kw_only=True)
class GpuConfig(PresetConfig):
    """A GPU part."""

    peak: PeakCompute = param("Peak throughput by precision")
    memory_bw: float = param("Peak HBM bandwidth", unit="bandwidth", minimum=1)
    memory_capacity: int = param("HBM capacity", unit="size", minimum=1)
    efficiency: Efficiency = param("Fractions of peak reached by kernels", default={})
    launch_overhead: int = param("Time added to every kernel (launch and tail)", unit="time", default="0ns")
    kernel_overhead: dict[str, str] = param(
        "Extra fixed time by operator kind, e.g. {norm: 6.87us} for kernels whose measured cost has a floor",
        default={})
    collective_overhead: int = param("Software time per step of a collective (NCCL ring step)", unit="time",
                                     default="0ns")
    precision_by_bits: dict[str, str] = param(
        "Precision a product with activations of this many bits runs in",
        default={"32": "fp32", "16": "fp16", "8": "int8", "4": "int8"})

    def __post_init__(self):
        from pimsim.core.units import parse_time_ps
        from pimsim.trace.schema import KINDS

        overheads = {}
        for kind, text in self.kernel_overhead.items():
            if kind not in KINDS:
                raise ConfigError(f"unknown operator kind '{kind}'", f"kernel_overhead.{kind}")
            overheads[kind] = parse_time_ps(text, f"kernel_overhead.{kind}")
        object.__setattr__(self, "kernel_overhead_ps", overheads)
        for bits, precision in self.precision_by_bits.items():
            where = f"precision_by_bits.{bits}"
            if precision not in PRECISIONS:
                raise ConfigError(f"unknown precision '{precision}' (one of {', '.join(PRECISIONS)})", where)
            if self.peak.of(precision) is None:
                raise ConfigError(f"maps to '{precision}' but peak.{precision} is not given", where)

    def derived(self) -> dict:
        ridge = {p: self.peak.of(p) / self.memory_bw for p in PRECISIONS if self.peak.of(p)}
        return {"ridge_point_flop_per_byte": ridge,
                "effective_memory_bw_GBps": self.memory_bw * self.efficiency.memory * self.efficiency.utilisation / 1e9}


class Gpu(RooflineDevice, kind="gpu"):
    """One GPU."""

    def peak_flops(self) -> float:
        """Dense FP16 (else BF16) tensor-core peak."""
        return self.config.peak.fp16 or self.config.peak.bf16 or 0.0

    def precision_of(self, op) -> str:
        bits = str(int(op.activation_bits))
        try:
            return self.config.precision_by_bits[bits]
        except KeyError:
            raise ConfigError(f"no precision for {bits}-bit activations (operator {op.name}); add it to "
                              f"precision_by_bits", f"{self.config.name}: precision_by_bits") from None

    def peak_for(self, op) -> float:
        if op.kind in MATRIX_KINDS:
            return self.config.peak.of(self.precision_of(op))
        return self.config.peak.vector
