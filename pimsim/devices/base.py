"""What every device and interconnect preset shares, and the Device extension point.

A *preset config* is a frozen dataclass read from ``devices/*.yaml``; its
``kind:`` selects the class (``gpu``, ``npu``, ``upmem``, ``link``, ...).
Config classes register themselves with :func:`preset_kind`, so the loader in
:mod:`pimsim.devices.loading` finds them by kind.

A :class:`Device` is a processor or memory placed in a SimPy world. It runs
operator records (:class:`~pimsim.trace.schema.OpRecord`) one at a time:
:meth:`Device.cost_ps` is the pure cost model (no SimPy, testable alone) and
:meth:`Device.execute` the SimPy process that holds the device for that long.
Devices also own a memory capacity: :meth:`Device.allocate` refuses data that
does not fit with a :class:`~pimsim.core.errors.CapacityError`.
"""

from __future__ import annotations

import dataclasses
import math

import simpy

from pimsim.core.config import param
from pimsim.core.errors import CapacityError, ConfigError, SimulationError
from pimsim.core.registry import Pluggable, Registry
from pimsim.core.units import format_bytes

PRESET_KINDS = Registry("device preset kind")


def preset_kind(kind: str):
    """Class decorator: register a config dataclass as the schema of YAML ``kind: <kind>``."""

    def register(cls):
        cls.preset_kind = kind
        PRESET_KINDS.register(kind, cls)
        return cls

    return register


@dataclasses.dataclass(frozen=True)
class EnergyConfig:
    """Energy of the work a device does, by component (all default to 0: not modelled).

    An operator costs ``flops x compute`` (arithmetic, register files),
    ``bytes x 8 x memory`` (off-chip memory traffic), ``bytes x 8 x onchip``
    (caches and SRAM the same traffic passes through); links and switches use
    ``transfer`` per bit moved. ``static_power`` is drawn for the whole pass by every
    device of the system (busy or idle), booked as ``<group>.static``.
    """

    compute: float = param("Energy per floating-point operation", unit="energy_per_op", default="0pJ/op")
    memory: float = param("Energy per bit of off-chip memory traffic", unit="energy_per_bit", default="0pJ/bit")
    onchip: float = param("Energy per bit of on-chip traffic (caches, SRAM)", unit="energy_per_bit",
                          default="0pJ/bit")
    transfer: float = param("Energy per bit sent over a link", unit="energy_per_bit", default="0pJ/bit")
    static_power: float = param("Power drawn whenever the device is part of the run", unit="power",
                                default="0W")
    source: str = param("Where the energy figures come from", default="")

    def op_energy(self, flops: int, nbytes: int) -> dict:
        """Dynamic energy of one operator, joules by component."""
        return {"compute": flops * self.compute, "memory": nbytes * 8 * self.memory,
                "onchip": nbytes * 8 * self.onchip}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PresetConfig:
    """Fields every device, link and switch preset has."""

    kind: str = param("Preset kind (selects the model)")
    name: str = param("Preset name")
    source: str = param("Datasheet, standard or paper the numbers come from")
    description: str = param("One-line description", default="")
    energy: EnergyConfig = param("Energy figures of this device (see EnergyConfig)", default={})

    def derived(self) -> dict:
        """Quantities computed from the preset, shown by ``show-config --resolved``."""
        return {}


def check_fraction(value: float, where: str, allow_zero: bool = False) -> None:
    """Efficiencies and utilisations are fractions in (0, 1]."""
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= 1):
        raise ConfigError(f"{value!r} is not a fraction in {'[0' if allow_zero else '(0'}, 1]", where)


def ps_from_seconds(seconds: float) -> int:
    """Seconds -> integer picoseconds, rounded up (a cost is never shorter than its physics)."""
    return int(math.ceil(seconds * 1e12 - 1e-6)) if seconds > 0 else 0


@dataclasses.dataclass
class DeviceStats:
    """What one device did: operators, busy time and the work it carried out."""

    ops: int = 0
    busy_ps: int = 0
    flops: int = 0
    bytes_moved: int = 0
    by_kind: dict = dataclasses.field(default_factory=dict)
    by_pool: dict = dataclasses.field(default_factory=dict)     # unit pool -> busy ps (see Device.pool_of)
    energy_J: dict = dataclasses.field(default_factory=dict)

    def add_energy(self, parts: dict) -> None:
        for component, joules in parts.items():
            self.energy_J[component] = self.energy_J.get(component, 0.0) + joules

    def record(self, op, duration_ps: int, pool: str = "main") -> None:
        self.ops += 1
        self.busy_ps += duration_ps
        self.by_pool[pool] = self.by_pool.get(pool, 0) + duration_ps
        self.flops += int(op.flops)
        self.bytes_moved += int(op.bytes_read) + int(op.bytes_written)
        self.by_kind[op.kind] = self.by_kind.get(op.kind, 0) + duration_ps


class Device(Pluggable, registry=Registry("device model")):
    """A processor or memory in the simulated system, found by its preset's ``kind``.

    Subclasses set ``kind=...`` in the class statement, name the operator kinds
    they run in ``supported_ops`` and implement :meth:`cost_ps`.
    """

    supported_ops: tuple[str, ...] = ()

    def __init__(self, name: str, config, env: simpy.Environment | None = None):
        self.name = name
        self.config = config
        self.env = env or simpy.Environment()
        self.stats = DeviceStats()
        self.allocated_bytes = 0
        self._allocations: dict[str, int] = {}
        self._unit = simpy.PriorityResource(self.env, capacity=1)

    # -- memory -------------------------------------------------------------
    @property
    def capacity_bytes(self) -> int:
        """Bytes this device can hold (0: holds no data of its own)."""
        return 0

    def allocate(self, nbytes: int, what: str = "data") -> None:
        """Reserve ``nbytes`` of this device's memory for ``what``, or raise CapacityError."""
        if nbytes < 0:
            raise ValueError(f"cannot allocate {nbytes} bytes")
        free = self.capacity_bytes - self.allocated_bytes
        if nbytes > free:
            held = f" ({format_bytes(self.allocated_bytes)} already placed)" if self.allocated_bytes else ""
            raise CapacityError(f"{what} needs {format_bytes(nbytes)} but {self.name} ({self.config.name}) "
                                f"has {format_bytes(max(free, 0))} free of {format_bytes(self.capacity_bytes)}"
                                f"{held}", self.name)
        self.allocated_bytes += nbytes
        self._allocations[what] = self._allocations.get(what, 0) + nbytes

    def free(self, what: str) -> None:
        """Release everything allocated under the label ``what``."""
        self.allocated_bytes -= self._allocations.pop(what, 0)

    # -- execution ----------------------------------------------------------
    def check_supported(self, op) -> None:
        if op.kind not in self.supported_ops:
            raise SimulationError(f"{self.name} ({self.kind}) cannot run '{op.kind}' operators; it runs "
                                  f"{', '.join(self.supported_ops) or 'none'}", f"operator {op.id} ({op.name})")

    def cost_ps(self, op) -> int:
        """Time to run ``op`` on an idle device, in picoseconds (pure: no SimPy)."""
        raise NotImplementedError

    def peak_flops(self) -> float:
        """Peak arithmetic rate (FLOP/s) of the device's main compute units; 0 if it has none."""
        return 0.0

    def energy_J(self, op, duration_ps: int) -> dict:
        """Dynamic energy of running ``op``, joules by component (override for other physics)."""
        return self.config.energy.op_energy(int(op.flops), int(op.bytes_read) + int(op.bytes_written))

    def execute(self, op, priority: int = 0) -> simpy.Process:
        """Run ``op`` as a SimPy process: wait for the device, hold it for :meth:`cost_ps`.

        Operators waiting for the device start in ``priority`` order (lower first; the
        scenario runner passes program order, as a device's command stream runs in order).
        """
        self.check_supported(op)
        return self.env.process(self._run(op, priority))

    def _run(self, op, priority: int = 0):
        duration = self.cost_ps(op)
        with self.unit_for(op, None).request(priority=priority) as turn:
            yield turn
            yield self.env.timeout(duration)
        self.stats.record(op, duration, self.pool_of(op))
        self.stats.add_energy(self.energy_J(op, duration))
        return duration

    def unit_for(self, op, part: int | None = None) -> simpy.Resource:
        """The resource an operator holds (one per device; PIM modules have one per channel group)."""
        return self._unit

    def parallel_units(self) -> int:
        """How many operators the device can run at once (its busy time is shared by them)."""
        return 1

    def pool_of(self, op) -> str:
        """The pool of units ``op`` runs on (a device with units of different kinds has several)."""
        return "main"

    def pool_size(self, pool: str) -> int:
        """How many units the pool has (by default all of them, one pool)."""
        return self.parallel_units()

    def busy_share_ps(self) -> float:
        """Busy time of the device: that of its busiest pool, per unit of the pool."""
        return max((ps / self.pool_size(pool) for pool, ps in self.stats.by_pool.items()), default=0.0)

    def hold(self, op, duration_ps: int, energy: dict, priority: int = 0, part: int | None = None) -> simpy.Process:
        """Run ``op`` for a duration worked out beforehand (a fused group of operators), on unit ``part``."""
        return self.env.process(self._hold(op, int(duration_ps), energy, priority, part))

    def _hold(self, op, duration: int, energy: dict, priority: int = 0, part: int | None = None):
        with self.unit_for(op, part).request(priority=priority) as turn:
            yield turn
            yield self.env.timeout(duration)
        self.stats.record(op, duration, self.pool_of(op))
        self.stats.add_energy(energy)
        return duration

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.config.name})>"
