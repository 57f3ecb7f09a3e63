"""The host CPU: runs what nothing else does, owns the CXL host bridge, samples tokens.

Operators on the host are costed by the roofline over its cores and DRAM.
``bridge_latency`` is the host bridge / root port crossing added to every
transfer that starts or ends at the host (see :mod:`pimsim.system.network`).
``sampling_time`` is the per-token cost of top-k sampling on the host, which
CENT keeps on the CPU.
"""

from __future__ import annotations

import dataclasses

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

    def derived(self) -> dict:
        return {"ridge_point_flop_per_byte": self.peak_flops / self.memory_bw}


class Host(RooflineDevice, kind="host"):
    """The host CPU."""

    def peak_for(self, op) -> float:
        return self.config.peak_flops

    def sampling_ps(self, tokens: int) -> int:
        """Time to sample ``tokens`` output tokens."""
        return tokens * self.config.sampling_time
