"""The host CPU: runs what nothing else does, owns the CXL host bridge, samples tokens.

Operators on the host are costed by the roofline over its cores and DRAM.
``bridge_latency`` is the host bridge / root port crossing added to every
transfer that starts or ends at the host (see :mod:`pimsim.system.network`).
``sampling_time`` is the per-token cost of top-k sampling on the host, which
CENT keeps on the CPU; ``sampling_units`` tokens are sampled at once (cores
given to sampling), each sampling operator (named ``sample`` or ``*.sample``)
taking one of them, beside the unit that runs every other host operator.
"""

from __future__ import annotations

import dataclasses

import simpy

from pimsim.core.config import param
from pimsim.devices.base import PresetConfig, preset_kind
from pimsim.devices.roofline import Efficiency, RooflineDevice


@preset_kind("host")
@dataclasses.dataclass(frozen=True, kw_only=True)
class HostConfig(PresetConfig):
    """A host processor with its local DRAM."""

    peak_flops: float = param("Peak arithmetic throughput of all cores", unit="flops", minimum=1)
    memory_bw: float = param("Peak local DRAM bandwidth", unit="bandwidth", minimum=1)
    memory_capacity: int = param("Local DRAM capacity", unit="size", minimum=1)
    efficiency: Efficiency = param("Fractions of peak reached", default={"compute": 0.5, "memory": 0.7})
    launch_overhead: int = param("Software overhead per operator", unit="time", default="0ns")
    bridge_latency: int = param("Host bridge (root port) crossing, added to CXL transfers at the host",
                                unit="time", default="0ns")
    sampling_time: int = param("Top-k sampling of one token on the host", unit="time", default="0ns")
    sampling_units: int = param("Tokens the host samples at once (cores given to sampling)", default=1,
                                minimum=1)

    def derived(self) -> dict:
        return {"ridge_point_flop_per_byte": self.peak_flops / self.memory_bw}


class Host(RooflineDevice, kind="host"):
    """The host CPU."""

    def __init__(self, name: str, config, env: simpy.Environment | None = None):
        super().__init__(name, config, env)
        self._sampling = simpy.PriorityResource(self.env, capacity=config.sampling_units)

    def peak_for(self, op) -> float:
        return self.config.peak_flops

    def unit_for(self, op, part: int | None = None) -> simpy.Resource:
        """Sampling operators take one of the sampling units; everything else the host's one unit."""
        return self._sampling if is_sampling(op) else self._unit

    def parallel_units(self) -> int:
        return 1 + self.config.sampling_units

    def pool_of(self, op) -> str:
        return "sampling" if is_sampling(op) else "main"

    def pool_size(self, pool: str) -> int:
        return self.config.sampling_units if pool == "sampling" else 1

    def sampling_ps(self, tokens: int) -> int:
        """Time to sample ``tokens`` output tokens."""
        return tokens * self.config.sampling_time


def is_sampling(op) -> bool:
    """Is ``op`` a token-sampling operator (named ``sample`` or ``<prefix>.sample``)?"""
    return op.name == "sample" or op.name.endswith(".sample")
