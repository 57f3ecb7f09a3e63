"""One simulated pass (a decode step or the prefill) of a scenario.

The placement plans the pass (:meth:`~pimsim.placement.base.Placement.plan`):
which trace to run (it may split the batch into sub-batches or micro-batches),
where each operator goes, and how many tokens the simulated window produces.
This module builds a fresh SimPy world of the system, places the tensors
(capacity is enforced by the devices), runs the trace and collects what every
device and link did.
"""

from __future__ import annotations

import dataclasses

from pimsim.experiments.stepsim import StepRun, simulate
from pimsim.system.builder import build_system


@dataclasses.dataclass
class PassResult:
    """A simulated pass: its time, the tokens it produced and everything the devices did."""

    phase: str
    context: int
    time_ps: int
    tokens: int
    run: StepRun
    energy_J: dict            # component -> joules (device groups merged)
    group_busy: dict          # device group -> busiest member's busy fraction
    group_flops: dict         # device group -> flops done
    peak_flops: dict          # device group -> peak flops of the group over the pass
    weight_bytes: int
    kv_bytes_read: int
    bytes_read: int
    run_replicas: tuple = ()
    notes: tuple = ()


def _group_of(system, device: str) -> str:
    for group, node in system.spec.devices.items():
        if device in node.instances:
            return group
    return device


def _energy(system, run: StepRun, transfer_J: float) -> dict:
    energy: dict[str, float] = {}
    seconds = run.time_ps / 1e12
    for name, dev in system.devices.items():
        group = _group_of(system, name)
        for component, joules in dev.stats.energy_J.items():
            key = f"{group}.{component}"
            energy[key] = energy.get(key, 0.0) + joules
        static = getattr(dev.config, "energy", None)
        if static is not None and static.static_power:
            key = f"{group}.static"
            energy[key] = energy.get(key, 0.0) + static.static_power * seconds
    if transfer_J:
        energy["links.transfer"] = transfer_J
    return energy


def _groups(system, run: StepRun) -> tuple[dict, dict, dict]:
    busy, flops, peak = {}, {}, {}
    for name, dev in system.devices.items():
        group = _group_of(system, name)
        busy[group] = max(busy.get(group, 0.0), run.utilisation(name))
        flops[group] = flops.get(group, 0) + dev.stats.flops
        peak_fn = getattr(dev, "peak_flops", None)
        if callable(peak_fn):
            peak[group] = peak.get(group, 0.0) + peak_fn() * run.time_ps / 1e12
    return busy, flops, peak


def run_pass(plan, system_spec, phase: str, context: int) -> PassResult:
    """Simulate one planned pass on a fresh world of ``system_spec`` (or the plan's own)."""
    system = build_system(plan.system_spec or system_spec)
    for tensor in plan.assignment.tensors:
        system.place(tensor.group, tensor.nbytes, tensor.what)
    run = simulate(system, plan.trace, plan.assignment)
    transfer_J = run.transfer_J
    busy, flops, peak = _groups(system, run)
    t = plan.source if plan.source is not None else plan.trace
    kinds = t["kind"]
    from pimsim.trace.schema import KINDS

    kv_code = KINDS.index("kv_read")
    shards = t["shards"]
    return PassResult(phase, context, run.time_ps, plan.tokens, run, _energy(system, run, transfer_J), busy,
                      flops, peak, int((t["weight_bytes"] * shards).sum()),
                      int((t["bytes_read"] * shards)[kinds == kv_code].sum()),
                      int((t["bytes_read"] * shards).sum()), plan.assignment.replicas, plan.assignment.notes)


def run_decode_step(model, placement, system_spec, batch: int, context: int, precision: str) -> PassResult:
    plan = placement.plan(model, "decode", batch, context, precision, system_spec)
    return run_pass(plan, system_spec, "decode", context)


def run_prefill(model, placement, system_spec, batch: int, prompt: int, precision: str) -> PassResult:
    """The prefill pass. A placement that pipelines the prompts' tokens through stages in chunks (CENT)
    may ask for the fill to be extrapolated: a pipeline of ``C`` equal chunks over stages takes
    ``T(C) = A + B / C`` (the work, plus the fill of the stages behind the first chunk), so two runs at
    ``C1 < C2`` chunks give ``A`` and ``B`` and the time at the chunk count wanted (every token a chunk)."""
    plan = placement.plan(model, "prefill", batch, prompt, precision, system_spec)
    result = run_pass(plan, system_spec, "prefill", prompt)
    if plan.extrapolate:
        coarse_plan, c1, c2, wanted = plan.extrapolate
        t1, t2 = run_pass(coarse_plan, system_spec, "prefill", prompt).time_ps, result.time_ps
        b = (t1 - t2) / (1 / c1 - 1 / c2)
        a = t2 - b / c2
        result.time_ps = int(round(min(t2, max(a + b / wanted, a))))
        result.notes = (*result.notes, f"prefill pipeline fill extrapolated from {c1} and {c2} chunks to "
                                       f"{wanted}: {t2 / 1e9:.3f} ms -> {result.time_ps / 1e9:.3f} ms")
    if plan.repeat > 1:                 # the simulated pass stands for ``repeat`` identical ones in a row
        result.time_ps *= plan.repeat
        result.energy_J = {k: v * plan.repeat for k, v in result.energy_J.items()}
        result.group_flops = {k: v * plan.repeat for k, v in result.group_flops.items()}
        result.peak_flops = {k: v * plan.repeat for k, v in result.peak_flops.items()}
        result.notes = (*result.notes, f"the simulated pass repeated {plan.repeat} times")
    return result
