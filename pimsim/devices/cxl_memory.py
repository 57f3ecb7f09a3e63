"""A CXL.mem memory expander: DRAM behind a CXL controller.

Reached over CXL.mem, an expander answers a load 70-90 ns later than local
DRAM would (controller, ports and link round trip; measured on Intel and
Samsung expanders). ``added_latency`` is that premium and ``dram_latency`` the
DRAM's own; an access of N bytes costs both plus N over the expander's media
bandwidth. Bulk transfers between the expander and a processor additionally
use the links of the system (``pimsim.system.network``), which carry the
bandwidth limits of the CXL port.
"""

from __future__ import annotations

import dataclasses

from pimsim.core.config import param
from pimsim.core.errors import ConfigError
from pimsim.devices.base import Device, PresetConfig, preset_kind, ps_from_seconds
from pimsim.devices.npu import NpuMemory


@preset_kind("cxl-memory")
@dataclasses.dataclass(frozen=True, kw_only=True)
class CxlMemoryConfig(PresetConfig):
    """A CXL Type-3 memory expander."""

    memory: NpuMemory | None = param("The DRAM inside (a DRAM preset and how many devices)", default=None)
    capacity: int | None = param("Capacity; default: that of the DRAM devices", unit="size", default=None)
    media_bw: float | None = param("Bandwidth of the DRAM inside; default: peak of the DRAM devices x their "
                                   "efficiency", unit="bandwidth", default=None)
    dram_latency: int = param("Load-to-use latency of the DRAM itself (as local DRAM)", unit="time")
    added_latency: int = param("Extra latency of a CXL.mem access over local DRAM", unit="time")

    def __post_init__(self):
        for key, from_memory in (("capacity", "capacity_bytes"), ("media_bw", "peak_bw_Bps")):
            if getattr(self, key) is None:
                if self.memory is None:
                    raise ConfigError(f"give '{key}' or a 'memory:' DRAM preset to take it from", key)
                value = getattr(self.memory, from_memory)
                value = value * self.memory.efficiency if key == "media_bw" else value
                object.__setattr__(self, key, value)
        if self.media_bw <= 0:
            raise ConfigError(f"media_bw must be above zero, got {self.media_bw}", "media_bw")

    def derived(self) -> dict:
        return {"capacity_GiB": self.capacity / 2**30, "media_bw_GBps": self.media_bw / 1e9,
                "load_latency_ns": (self.dram_latency + self.added_latency) / 1e3}


class CxlMemory(Device, kind="cxl-memory"):
    """One memory expander; it serves plain reads and writes."""

    supported_ops = ("kv_read", "kv_write", "embedding", "recv")   # recv: data read here for another device

    @property
    def capacity_bytes(self) -> int:
        return self.config.capacity

    def access_ps(self, nbytes: int) -> int:
        """One access of ``nbytes``: DRAM latency + CXL premium + media transfer."""
        c = self.config
        media = nbytes / c.media_bw
        return c.dram_latency + c.added_latency + ps_from_seconds(media)

    def cost_ps(self, op) -> int:
        self.check_supported(op)
        return self.access_ps(int(op.bytes_read) + int(op.bytes_written))
