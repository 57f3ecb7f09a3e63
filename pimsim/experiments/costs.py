"""The device cost oracle placements consult: times, energies and capacities, without a simulation.

Placements are pure (no SimPy); when one needs a device's cost to decide a split
(AttAcc's FFN share) or to fuse operators (CENT's blocks), or a group's memory
capacity, it asks the :class:`DeviceCosts` the scenario runner gives it. The
oracle builds one device model per group from the system's presets and calls
its pure cost functions.
"""

from __future__ import annotations

from functools import lru_cache


class DeviceCosts:
    """Cost and capacity of the device groups of one system (pure calls on device models)."""

    def __init__(self, system_spec):
        import pimsim.devices.loading
        import pimsim.pim.module_timing  # noqa: F401  (PIM timing of pim-module devices)

        self.system_spec = system_spec
        self._model = lru_cache(maxsize=None)(self._build)

    def _build(self, group: str):
        from pimsim.devices.base import Device
        from pimsim.system.builder import PASSIVE_KINDS

        config = self.system_spec.devices[group].config
        if config.kind in PASSIVE_KINDS:
            return None
        return Device.registry.get(config.kind)(f"{group}-model", config)

    def for_spec(self, system_spec) -> DeviceCosts:
        """The oracle of another configuration of the system (e.g. with PIM partitions set)."""
        return self if system_spec is self.system_spec else DeviceCosts(system_spec)

    def cost_ps(self, group: str, op) -> int:
        return int(self._model(group).cost_ps(op))

    def energy_J(self, group: str, op, duration_ps: int) -> dict:
        return self._model(group).energy_J(op, duration_ps)

    def capacity(self, group: str) -> int:
        """Memory of the whole group, in bytes."""
        model = self._model(group)
        return 0 if model is None else self.system_spec.devices[group].count * int(model.capacity_bytes)
