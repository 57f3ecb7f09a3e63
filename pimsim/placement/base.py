"""Placements: which device runs each operator, and where each tensor lives.

A placement is a pure function of a trace and a system description (no SimPy):
:meth:`Placement.place` returns an :class:`Assignment` naming, for every
operator of the trace, the device instance that runs it (or the device group of
a collective), plus the tensors (weights, KV cache) it puts on each device group.
:meth:`Placement.check_capacity` refuses a model and batch that do not fit with
a :class:`~pimsim.core.errors.CapacityError` saying how much is missing where.

Systems made of identical tensor-parallel shards are simulated through one
representative shard (``gpu0`` runs shard 0's operators; the other shards do the
same work at the same time); collectives run over the whole group.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.core.registry import Pluggable, Registry
from pimsim.core.units import format_bytes


@dataclasses.dataclass(frozen=True)
class TensorPlacement:
    """``nbytes`` of ``what`` (weights, kv_cache, ...) spread evenly over device group ``group``."""

    what: str
    group: str
    nbytes: int


@dataclasses.dataclass(frozen=True)
class Assignment:
    """The result of a placement for one trace."""

    placement: str
    devices: tuple[str, ...]            # per operator row: device instance, or group for collectives
    tensors: tuple[TensorPlacement, ...]
    streams: tuple[int, ...] = ()       # per operator row: sub-batch / micro-batch it belongs to
    notes: tuple[str, ...] = ()
    replicas: tuple = ()                # (group, n): one simulated member stands for n identical ones
    trace: object = None                # the trace to run, when the placement rewrote the one it was given
    fused: tuple = ()                   # (row, duration_ps, energy dict): operators costed beforehand
    priorities: tuple = ()              # per operator: order among ready operators on a device (default: row)
    parts: tuple = ()                   # per operator: the device's unit (PIM channel group) it must use, or -1

    def __post_init__(self):
        if self.streams and len(self.streams) != len(self.devices):
            raise ValueError("streams must have one entry per operator")
        if self.trace is not None and len(self.trace) != len(self.devices):
            raise ValueError("a rewritten trace needs one device per operator")


def first(system_spec, group: str) -> str:
    """The simulated representative of a device group (``gpu0``, or ``gpu`` if it has one member)."""
    return system_spec.devices[group].instances[0]


def require_group(system_spec, group: str, placement: str) -> None:
    if group not in system_spec.devices:
        raise ConfigError(f"placement '{placement}' needs a device group '{group}', which system "
                          f"'{system_spec.name}' does not have (groups: {', '.join(system_spec.devices)})")


def check_fits(system_spec, tensors: list[TensorPlacement], costs, headroom: float = 1.0) -> None:
    """Raise CapacityError if the tensors on any group exceed ``headroom`` x its capacity."""
    needed: dict[str, int] = {}
    for t in tensors:
        needed[t.group] = needed.get(t.group, 0) + t.nbytes
    for group, nbytes in needed.items():
        capacity = int(costs.capacity(group) * headroom)
        if nbytes > capacity:
            parts = ", ".join(f"{t.what} {format_bytes(t.nbytes)}" for t in tensors if t.group == group)
            raise CapacityError(f"{parts} need {format_bytes(nbytes)} on group '{group}' of system "
                                f"'{system_spec.name}', which holds {format_bytes(capacity)}: "
                                f"{format_bytes(nbytes - capacity)} missing", group)


@dataclasses.dataclass
class PassPlan:
    """A pass ready to simulate: its trace, where everything goes, and the tokens it yields.

    ``source`` is the trace as generated (before any rewriting), for byte accounting.
    """

    trace: object
    assignment: Assignment
    tokens: int
    source: object = None
    system_spec: object = None          # the system as the placement configured it (else the one given)
    #: a pipeline simulated in chunks: (the same pass in ``coarse`` chunks, coarse, chunks of this plan,
    #: chunks wanted); the runner extrapolates the pipeline fill from the two (see pipeline.run_prefill)
    extrapolate: tuple = ()
    #: the pass is this many repetitions of the simulated one (time, energy and FLOPs scale; see run_prefill)
    repeat: int = 1


class Placement(Pluggable, registry=Registry("placement")):
    """Where a design runs each operator. Subclasses register with ``kind="name"``."""

    #: The paper the placement follows, and the system preset it runs on by default.
    paper = ""
    default_system = ""
    description = ""

    def __init__(self, **options):
        unknown = set(options) - set(self.options())
        if unknown:
            raise ConfigError(f"placement '{self.kind}' has no option '{sorted(unknown)[0]}'; "
                              f"options: {', '.join(self.options()) or 'none'}")
        self.opts = {**self.options(), **options}
        self.costs = None

    def bind(self, costs) -> Placement:
        """Give the placement its cost oracle (:class:`pimsim.experiments.costs.DeviceCosts` or a stand-in
        with ``cost_ps(group, op)``, ``energy_J(group, op, ps)``, ``capacity(group)``)."""
        self.costs = costs
        return self

    @classmethod
    def options(cls) -> dict:
        """Option name -> default value."""
        return {}

    def tensor_parallel(self, system_spec) -> int:
        """Tensor-parallel degree the trace must be generated with for this system."""
        return 1

    def max_batch(self, model) -> int | None:
        """The most sequences the design serves at once whatever the memory (None: memory decides)."""
        return None

    def tensors(self, model, batch: int, context: int, system_spec, precision: str = "FP16") -> list[TensorPlacement]:
        raise NotImplementedError

    def check_capacity(self, model, batch: int, context: int, system_spec, precision: str = "FP16") -> None:
        check_fits(system_spec, self.tensors(model, batch, context, system_spec, precision), self.costs)

    def place(self, trace, system_spec) -> Assignment:
        raise NotImplementedError

    def scenario(self, phase: str, batch: int, tokens: int, precision: str, system_spec):
        """The trace scenario of one pass: a decode step at context ``tokens``, or a prefill of ``tokens``."""
        from pimsim.trace import Scenario

        tp = self.tensor_parallel(system_spec)
        if phase == "decode":
            return Scenario(phase="decode", batch=batch, context_tokens=tokens, output_tokens=1,
                            precision=precision, tensor_parallel=tp)
        return Scenario(phase="prefill", batch=batch, prompt_tokens=tokens, output_tokens=1, precision=precision,
                        tensor_parallel=tp)

    def plan(self, model, phase: str, batch: int, tokens: int, precision: str, system_spec) -> PassPlan:
        """Trace and assignment of one pass (override to split batches or pipeline)."""
        from pimsim.trace import generate

        trace = generate(model, self.scenario(phase, batch, tokens, precision, system_spec))
        assignment = dataclasses.replace(self.place(trace, system_spec),
                                         tensors=tuple(self.tensors(model, batch, tokens, system_spec, precision)))
        # a decode step yields one token per sequence; so does a prefill (each sequence's first token)
        run = assignment.trace if assignment.trace is not None else trace
        return PassPlan(run, assignment, batch, source=trace)


def model_bytes(model, batch: int, context: int, precision: str) -> tuple[int, int]:
    """(weight bytes, KV-cache bytes) of ``batch`` sequences of ``context`` tokens at ``precision``."""
    from pimsim.trace.scenario import parse_precision

    bits = parse_precision(precision)
    return weight_bytes(model, bits.weight_bits), kv_bytes(model, batch, context, bits.kv_bits)


def weight_bytes(model, weight_bits: int = 16) -> int:
    return math.ceil(model.parameter_count() * weight_bits / 8)


def kv_bytes(model, batch: int, context: int, kv_bits: int = 16) -> int:
    per_token = 2 * model.num_hidden_layers * model.kv_heads * model.head_size * kv_bits // 8
    return batch * context * per_token


def get_placement(name: str, **options) -> Placement:
    """A placement by name (``gpu``, ``attacc``, ...), with its options."""
    import pimsim.placement  # noqa: F401  (registers every placement)

    return Placement.registry.get(name, "placement")(**options)
