"""A PIM module: PIM memory (timed by a PIM model given later) plus near-memory units.

This is the device a placement sends attention or FC work to when the work
runs *inside* memory: a CENT CXL device (32 GDDR6-AiM channels behind a CXL
controller whose near-memory units do softmax, norms and rotary) or an AttAcc
module (HBM3-PIM stacks next to the GPUs). This module does not time PIM
commands itself. A PIM timing model (the tile-level model of the DRAM layer)
plugs in through :func:`register_pim_timing`: a factory, keyed by the name the
preset's ``pim_model:`` gives (or, when that is empty, by its ``memory:``
preset name), that takes the module config and returns an object with
``cost_ps(op) -> int``. :mod:`pimsim.pim.module_timing` registers the tile-level
PIM model under the name of every ``kind: pim`` preset; for a memory without
one, PIM operators raise a clear :class:`~pimsim.core.errors.SimulationError`.

Operators by where they run on the module:

* PIM (``gemv``, ``gemm``, ``attention_score``, ``attention_context``, and MoE's ``moe_router`` and
  ``expert_ffn`` as the GEMVs they are made of): the PIM model;
* plain memory (``kv_read``, ``kv_write``, ``embedding``): ``bytes / memory_bw``;
* element-wise (``softmax``, ``norm``, ``rope``, ``activation``): the near-memory units (``pnm:``).
"""

from __future__ import annotations

import dataclasses

import simpy

from pimsim.core.config import param
from pimsim.core.errors import SimulationError, UnsupportedError
from pimsim.core.registry import Registry
from pimsim.devices.base import Device, PresetConfig, preset_kind, ps_from_seconds
from pimsim.pim.spec import PIM_OPERAND_BITS, narrow_operand

PIM_TIMINGS = Registry("PIM timing model")
PIM_KINDS = ("gemv", "gemm", "attention_score", "attention_context", "moe_router", "expert_ffn")
MEMORY_KINDS = ("kv_read", "kv_write", "embedding")


def check_operand_bits(op, preset: str) -> None:
    """PIM kernels are timed for 16-bit operands: refuse an operator on narrower (or wider) data rather than
    time it as if it were 16-bit (the capacity and byte counts would say one thing, the time another)."""
    narrow = narrow_operand(op)
    if narrow:
        what, bits = narrow
        raise UnsupportedError(f"{preset}: the PIM units multiply {PIM_OPERAND_BITS}-bit operands; {what} of "
                               f"{bits} bits are not modelled there (operator {op.name}, {op.kind}); keep the "
                               f"data the PIM computes on at 16 bits")


def register_pim_timing(name: str):
    """Decorator for a factory ``(PimModuleConfig) -> object with cost_ps(op)``, used as ``pim_model: name``."""

    def register(factory):
        PIM_TIMINGS.register(name, factory)
        return factory

    return register


@preset_kind("pim-module")
@dataclasses.dataclass(frozen=True, kw_only=True)
class PimModuleConfig(PresetConfig):
    """A device whose memory computes."""

    memory: str = param("PIM memory preset (devices/*.yaml), read by the PIM timing model")
    memory_count: int = param("How many of that memory preset the module holds (stacks, chips)", default=1,
                              minimum=1)
    capacity: int = param("Memory capacity of the whole module", unit="size", minimum=1)
    memory_bw: float = param("Peak bandwidth of plain (non-PIM) reads and writes", unit="bandwidth", minimum=1)
    pim_model: str | None = param("Registered PIM timing model for PIM operators", default=None)
    pnm: str | None = param("Near-memory units preset (kind: pnm) on the controller", default=None)
    controller_latency: int = param("Controller crossing added to each operator", unit="time", default="0ns")
    partitions: int = param("Channel groups that run operators concurrently, each with an equal share of the "
                            "channels (CENT maps one transformer block to each)", default=1, minimum=1)
    fidelity: str | None = param("PIM kernel fidelity: tile (closed form) or command (every DRAM/PIM command "
                                 "simulated); none takes the PIM memory preset's", default=None,
                                 choices=("tile", "command"))

    def __post_init__(self):
        if self.pnm is not None:
            from pimsim.devices.loading import load_device

            object.__setattr__(self, "pnm_config", load_device(self.pnm, expect=("pnm",)))
        else:
            object.__setattr__(self, "pnm_config", None)

    def derived(self) -> dict:
        out = {"capacity_GiB": self.capacity / 2**30, "memory_bw_GBps": self.memory_bw / 1e9}
        if self.pnm_config is not None:
            out["pnm"] = {"lanes": self.pnm_config.lanes, **self.pnm_config.derived()}
        return out


class PimModule(Device, kind="pim-module"):
    """One PIM module (a CXL-PIM device, an AttAcc stack group)."""

    supported_ops = PIM_KINDS + MEMORY_KINDS + ("softmax", "norm", "rope", "activation")

    def __init__(self, name: str, config, env: simpy.Environment | None = None, pim_timing=None):
        super().__init__(name, config, env)
        self.pnm = None
        if config.pnm_config is not None:
            from pimsim.devices.pnm import Pnm

            self.pnm = Pnm(f"{name}.pnm", config.pnm_config, self.env)
        self._unit = simpy.PriorityResource(self.env, capacity=config.partitions)
        self._parts = [simpy.PriorityResource(self.env, capacity=1) for _ in range(config.partitions)]
        self._pnm_unit = simpy.PriorityResource(self.env, capacity=1)        # the controller's units are shared
        self.pim_timing = pim_timing
        if pim_timing is None:
            import pimsim.pim.module_timing  # noqa: F401  (registers a model under every kind: pim preset)

            name = config.pim_model or config.memory
            if name in PIM_TIMINGS:
                self.pim_timing = PIM_TIMINGS.get(name)(config)
            elif config.pim_model is not None:
                PIM_TIMINGS.get(config.pim_model, f"{config.name}: pim_model")  # unknown name: list the known

    @property
    def capacity_bytes(self) -> int:
        return self.config.capacity

    def energy_J(self, op, duration_ps: int) -> dict:
        """PIM kernels: the PIM model's energy; near-memory units: theirs; plain memory: this preset's."""
        if op.kind in PIM_KINDS and hasattr(self.pim_timing, "energy_J"):
            return self.pim_timing.energy_J(op)
        if op.kind in MEMORY_KINDS or self.pnm is None:
            return super().energy_J(op, duration_ps)
        return self.pnm.energy_J(op, duration_ps)

    def parallel_units(self) -> int:
        return self.config.partitions + (1 if self.pnm is not None else 0)

    def peak_flops(self) -> float:
        """Every MAC unit of every memory copy busy: 2 FLOPs per multiply-accumulate."""
        spec = getattr(self.pim_timing, "spec", None)
        if spec is None:
            return 0.0
        peak = spec.peak_macs_per_s() if callable(spec.peak_macs_per_s) else spec.peak_macs_per_s
        return 2 * peak * self.config.memory_count

    def unit_for(self, op, part: int | None = None) -> simpy.Resource:
        """PIM and memory operators take a channel group (``part``, or any free one); near-memory
        operators take the controller's shared units."""
        if op.kind in PIM_KINDS or op.kind in MEMORY_KINDS or self.pnm is None:
            return self._unit if part is None else self._parts[part]
        return self._pnm_unit

    def attach(self, pim_timing) -> None:
        """Give the module a PIM timing model (an object with ``cost_ps(op)``)."""
        self.pim_timing = pim_timing

    def cost_ps(self, op) -> int:
        self.check_supported(op)
        extra = self.config.controller_latency
        if op.kind in PIM_KINDS:
            check_operand_bits(op, self.config.name)
            if self.pim_timing is None:
                known = ", ".join(PIM_TIMINGS.names()) or "none registered yet"
                raise SimulationError(f"{self.name} has no PIM timing model for '{op.kind}' (none registered as "
                                      f"'{self.config.pim_model or self.config.memory}'; registered: {known})",
                                      self.config.name)
            return extra + int(self.pim_timing.cost_ps(op))
        if op.kind in MEMORY_KINDS:
            return extra + ps_from_seconds((int(op.bytes_read) + int(op.bytes_written)) / self.config.memory_bw)
        if self.pnm is None:
            if op.kind == "softmax" and hasattr(self.pim_timing, "softmax_ps"):
                return extra + int(self.pim_timing.softmax_ps(op))     # the PIM memory's own softmax unit
            raise SimulationError(f"{self.name} has no near-memory units (pnm:) for '{op.kind}'", self.config.name)
        return extra + self.pnm.cost_ps(op)
