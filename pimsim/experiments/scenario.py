"""A scenario: a workload on a system under a placement, simulated, as one result record.

:func:`run_scenario` is the whole pipeline of ``pimsim compare`` for one
placement: load the model -> check capacity (or find the largest batch that
fits) -> generate the prefill trace and decode-step traces -> place each
(pure) -> build the SimPy world of the system -> simulate -> metrics.

Decode steps differ only in their context length, and a step's time is
nearly affine in it, so a request's decode phase is simulated at
``decode_samples`` evenly spaced context lengths (first and last included)
and averaged with the trapezoid rule; with 2 samples this is exact for an
affine cost, and the default of 3 absorbs the small non-linearities of tiling.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.experiments.costs import DeviceCosts
from pimsim.experiments.pipeline import run_decode_step, run_prefill
from pimsim.placement import get_placement
from pimsim.system.spec import load_system_spec
from pimsim.trace import load_model


@dataclasses.dataclass(frozen=True)
class ScenarioSpec:
    """What to run. ``batch`` 0 means "the largest batch whose weights and KV cache fit"."""

    model: str
    placement: str
    batch: int = 1
    prompt_tokens: int = 2048
    output_tokens: int = 128
    system: str | None = None
    placement_options: tuple = ()
    system_sets: tuple = ()
    max_positions: int | None = None
    decode_samples: int = 3
    precision: str = "FP16"
    fidelity: str | None = None          # PIM kernels: tile or command (None: each preset's own)

    def options(self) -> dict:
        return dict(self.placement_options)


def load_inputs(spec: ScenarioSpec):
    """Model config, placement object and system spec of a scenario."""
    model = load_model(spec.model)
    if spec.max_positions:
        model = dataclasses.replace(model, max_position_embeddings=spec.max_positions)
    placement = get_placement(spec.placement, **spec.options())
    name = spec.system or placement.default_system
    system = load_system_spec(name, spec.system_sets)
    if spec.fidelity:
        pim = tuple(f"devices.{g}.fidelity={spec.fidelity}" for g, node in system.devices.items()
                    if node.config.kind == "pim-module")
        if pim:
            system = load_system_spec(name, spec.system_sets + pim)
    placement.bind(DeviceCosts(system))
    return model, placement, system


def largest_batch(model, placement, system, context: int, precision: str = "FP16", limit: int = 4096) -> int:
    """The largest batch whose tensors fit the system under ``placement`` (0 if none does)."""
    lo, hi = 0, min(limit, placement.max_batch(model) or limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            placement.check_capacity(model, mid, context, system, precision)
            lo = mid
        except CapacityError:
            hi = mid - 1
    return lo


def sample_contexts(prompt: int, output: int, samples: int) -> list[int]:
    """Context lengths of decode steps 1 .. output-1 (as AttAcc counts them), evenly sampled.

    Step i attends prompt + i tokens and produces token i + 1; the last of ``output``
    tokens is produced with prompt + output - 1 keys, so the context never exceeds
    prompt + output.
    """
    first, last = prompt + 1, prompt + max(output - 1, 1)
    if samples < 2 or first == last:
        return [first]
    return sorted({int(round(x)) for x in np.linspace(first, last, samples)})


def run_scenario(spec: ScenarioSpec) -> dict:
    """Simulate ``spec``; return one flat result record (see :mod:`pimsim.experiments.metrics`)."""
    return run_scenario_passes(spec)[0]


def run_scenario_passes(spec: ScenarioSpec):
    """Simulate ``spec``; return its record, the system spec, the prefill pass and the decode passes."""
    model, placement, system = load_inputs(spec)
    context = spec.prompt_tokens + spec.output_tokens
    batch = spec.batch or largest_batch(model, placement, system, context, spec.precision)
    if batch < 1:
        raise CapacityError(f"not even one sequence of {context} tokens of {model.name} fits "
                            f"{system.name} under placement '{spec.placement}'")
    placement.check_capacity(model, batch, context, system, spec.precision)
    steps = [run_decode_step(model, placement, system, batch, ctx, spec.precision)
             for ctx in sample_contexts(spec.prompt_tokens, spec.output_tokens, spec.decode_samples)]
    prefill = run_prefill(model, placement, system, batch, spec.prompt_tokens, spec.precision)
    from pimsim.experiments.metrics import scenario_record

    return scenario_record(spec, model, placement, system, batch, prefill, steps), system, prefill, steps


def check_spec(spec: ScenarioSpec) -> None:
    if spec.prompt_tokens < 1 or spec.output_tokens < 1:
        raise ConfigError("prompt and output lengths must be at least 1 token")
    if spec.batch < 0:
        raise ConfigError(f"batch must be positive (or 'max'), got {spec.batch}")
    if math.isnan(spec.decode_samples) or spec.decode_samples < 1:
        raise ConfigError("decode_samples must be at least 1")
    if spec.fidelity not in (None, "tile", "command"):
        raise ConfigError(f"fidelity must be 'tile' or 'command', got '{spec.fidelity}'")
