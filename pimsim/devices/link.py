"""Point-to-point links: what a transfer of N bytes costs on one hop.

Two kinds of preset:

* ``kind: link`` — a link given by its bandwidth per direction and one-way
  latency (NVLink, PCIe without flit accounting, a DDR channel), derated by a
  protocol efficiency.
* ``kind: cxl-link`` — a CXL link built from its generation, lane count and
  flit format. The raw rate is lanes x transfer rate x line-encoding
  efficiency; data travels in flits of ``flit`` bytes that each carry
  ``messages_per_flit`` messages of ``message_bytes``, so N bytes take
  ``ceil(N / payload) x flit / raw_rate``. One-way latency is a port at each
  end plus the PHY: CENT uses 25 ns per port and 30 ns of PCIe.

A link is full duplex: each direction is its own channel (see
:mod:`pimsim.system.network`, which makes every channel a shared SimPy resource).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from pimsim.core.config import param
from pimsim.core.errors import ConfigError
from pimsim.devices.base import PresetConfig, check_fraction, preset_kind

#: Per-generation defaults: transfer rate (T/s), line-encoding efficiency, flit bytes, messages per flit.
CXL_GENERATIONS = {
    "1.1": (32e9, Fraction(128, 130), 68, 1),
    "2.0": (32e9, Fraction(128, 130), 68, 1),
    "3.0": (64e9, Fraction(1), 256, 3),
    "3.1": (64e9, Fraction(1), 256, 3),
}


def _ceil_div(a: Fraction, b: Fraction) -> int:
    q = Fraction(a) / Fraction(b)
    return -((-q.numerator) // q.denominator)


def _check_bandwidth(bw, where: str) -> None:
    if bw is None or bw <= 0:
        raise ConfigError(f"a link needs a bandwidth above zero, got {bw!r}", where)


class LinkModel:
    """What the network needs from a link preset (mixin of the config classes)."""

    @property
    def latency_ps(self) -> int:
        raise NotImplementedError

    @property
    def bandwidth_Bps(self) -> float:
        """Payload bandwidth per direction, protocol overhead included."""
        raise NotImplementedError

    def serialization_ps(self, nbytes: int) -> int:
        """Time the link is busy moving ``nbytes`` of payload in one direction (memoised)."""
        cache = self.__dict__.get("_serialization_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_serialization_cache", cache)
        found = cache.get(nbytes)
        if found is None:
            found = cache[nbytes] = self._serialization_ps(nbytes)
        return found

    def _serialization_ps(self, nbytes: int) -> int:
        raise NotImplementedError

    def transfer_ps(self, nbytes: int) -> int:
        """Latency plus serialization: one transfer on an idle link."""
        return self.latency_ps + self.serialization_ps(nbytes)


@preset_kind("link")
@dataclasses.dataclass(frozen=True, kw_only=True)
class LinkConfig(PresetConfig, LinkModel):
    """A link given by bandwidth and latency."""

    bandwidth: float = param("Bandwidth per direction", unit="bandwidth")
    latency: int = param("One-way latency (wire, ports, protocol)", unit="time", default="0ns")
    efficiency: float = param("Fraction of the bandwidth left after protocol overhead", default=1.0)
    protocol: str = param("What the link is (nvlink, pcie, ddr4, ...)", default="generic")

    def __post_init__(self):
        _check_bandwidth(self.bandwidth, "bandwidth")
        check_fraction(self.efficiency, "efficiency")

    @property
    def latency_ps(self) -> int:
        return self.latency

    @property
    def bandwidth_Bps(self) -> float:
        return self.bandwidth * self.efficiency

    def _serialization_ps(self, nbytes: int) -> int:
        return _ceil_div(Fraction(nbytes) * 10**12, Fraction(self.bandwidth) * Fraction(self.efficiency))

    def derived(self) -> dict:
        return {"payload_bandwidth_GBps": self.bandwidth_Bps / 1e9, "latency_ns": self.latency / 1e3}


@preset_kind("cxl-link")
@dataclasses.dataclass(frozen=True, kw_only=True)
class CxlLinkConfig(PresetConfig, LinkModel):
    """A CXL link: generation, width, flit format, port and PHY latency."""

    generation: str = param("CXL generation", choices=tuple(CXL_GENERATIONS))
    lanes: int = param("Lanes (x1 ... x16)", choices=(1, 2, 4, 8, 16))
    transfer_rate: float | None = param("Per-lane rate; default 32 GT/s (2.0) or 64 GT/s (3.0)", unit="rate",
                                        default=None)
    encoding_efficiency: float | None = param("Line encoding: 128b/130b for 2.0, 1 (flit mode) for 3.0",
                                              default=None)
    flit: int | None = param("Flit size: 68B (2.0) or 256B (3.0)", unit="size", default=None)
    message_bytes: int = param("Payload of one message (a cache line)", unit="size", default="64B")
    messages_per_flit: int | None = param("Messages carried per flit: 1 in a 68B flit, 3 in a 256B flit (CENT)",
                                          default=None, minimum=1)
    port_latency: int = param("Latency of the port at each end", unit="time", default="25ns")
    phy_latency: int = param("PHY / PCIe latency of the link itself", unit="time", default="30ns")

    def __post_init__(self):
        rate, enc, flit, per_flit = CXL_GENERATIONS[self.generation]
        for key, value in (("transfer_rate", rate), ("encoding_efficiency", float(enc)), ("flit", flit),
                           ("messages_per_flit", per_flit)):
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        if self.flit not in (68, 256):
            raise ConfigError(f"flit must be 68B or 256B, got {self.flit} B", "flit")
        _check_bandwidth(self.transfer_rate, "transfer_rate")
        check_fraction(self.encoding_efficiency, "encoding_efficiency")
        if self.payload_bytes > self.flit:
            raise ConfigError(f"{self.messages_per_flit} messages of {self.message_bytes} B do not fit a "
                              f"{self.flit} B flit", "messages_per_flit")

    @property
    def payload_bytes(self) -> int:
        return self.messages_per_flit * self.message_bytes

    @property
    def raw_bandwidth_Bps(self) -> float:
        """Bytes per second on the wire per direction, after line encoding."""
        return self.lanes * self.transfer_rate * self.encoding_efficiency / 8

    @property
    def bandwidth_Bps(self) -> float:
        return self.raw_bandwidth_Bps * self.payload_bytes / self.flit

    @property
    def latency_ps(self) -> int:
        return 2 * self.port_latency + self.phy_latency

    def flits(self, nbytes: int) -> int:
        return math.ceil(nbytes / self.payload_bytes) if nbytes > 0 else 0

    def _serialization_ps(self, nbytes: int) -> int:
        raw = (Fraction(self.lanes) * Fraction(self.transfer_rate) * Fraction(self.encoding_efficiency)
               / 8)
        return _ceil_div(Fraction(self.flits(nbytes) * self.flit) * 10**12, raw)

    def derived(self) -> dict:
        return {"raw_bandwidth_GBps": self.raw_bandwidth_Bps / 1e9,
                "payload_bandwidth_GBps": self.bandwidth_Bps / 1e9,
                "flit_efficiency": self.payload_bytes / self.flit, "latency_ns": self.latency_ps / 1e3}
