"""Switches: nodes that forward transfers between links (a CXL switch, an NVSwitch fabric).

A switch adds ``latency`` to every transfer that crosses it and can serve at
most ``ports`` links. With ``multicast: true`` one transfer entering it can
leave on several ports at once (CXL 3.0 multicast, as CENT broadcasts
activations to its devices); ``multicast_bandwidth_factor`` is the share of
link bandwidth a multicast gets (CENT: multicast halves per-lane bandwidth).
"""

from __future__ import annotations

import dataclasses

from pimsim.core.config import param
from pimsim.devices.base import PresetConfig, check_fraction, preset_kind


@preset_kind("switch")
@dataclasses.dataclass(frozen=True, kw_only=True)
class SwitchConfig(PresetConfig):
    """A switch."""

    ports: int = param("Ports (links it can serve)", minimum=1)
    latency: int = param("Latency of one crossing (ingress to egress, ports excluded)", unit="time")
    protocol: str = param("cxl, nvlink, pcie, ...", default="cxl")
    multicast: bool = param("Can replicate one transfer to several ports", default=False)
    multicast_bandwidth_factor: float = param("Share of link bandwidth a multicast gets", default=1.0)

    def __post_init__(self):
        check_fraction(self.multicast_bandwidth_factor, "multicast_bandwidth_factor")

    def derived(self) -> dict:
        return {"latency_ns": self.latency / 1e3}
