"""The metrics of a scenario run: names and units declared once, computed from simulated passes.

Decode metrics average the sampled decode steps with the trapezoid rule over
their (evenly spaced) context lengths, which is the mean over all decode steps
for a cost affine in the context.
"""

from __future__ import annotations

import numpy as np

from pimsim.results.metrics import metric

metric("tokens_per_s", "tokens/s", "decode throughput: tokens generated per second over the decode phase")
metric("ttft_s", "s", "time to first token: the prefill pass of the batch")
metric("tpot_s", "s", "time per output token: mean decode step time")
metric("e2e_latency_s", "s", "latency of one request: TTFT + (output tokens - 1) x TPOT")
metric("energy_per_token_J", "J/token", "decode energy per generated token, all components")
metric("prefill_energy_J", "J", "energy of the prefill pass")
metric("context", "tokens", "prompt + output tokens: the context at the last step")
metric("weight_bytes_per_step", "B", "weight bytes read per decode step (all shards)")
metric("kv_bytes_per_step", "B", "KV-cache bytes read per decode step (all shards)")
metric("bytes_read_per_step", "B", "all bytes read per decode step (all shards)")
metric("link_bytes_per_step", "B", "bytes moved over links per decode step")
metric("compute_utilisation", "", "FLOPs done / peak FLOPs of the compute devices over a decode step")


def _trapezoid(values: list[float]) -> float:
    if len(values) == 1:
        return float(values[0])
    arr = np.asarray(values, dtype=float)
    return float((arr[1:] + arr[:-1]).sum() / (2 * (len(arr) - 1)))


def _energy_total(energy: dict) -> float:
    return float(sum(energy.values()))


def _scale_replicas(passed, replicas: dict) -> None:
    """One simulated member stands for ``n`` identical ones: scale its dynamic energy and FLOPs."""
    for group, n in replicas.items():
        for key in list(passed.energy_J):
            if key.startswith(f"{group}.") and not key.endswith(".static"):
                passed.energy_J[key] *= n
        if group in passed.group_flops:
            passed.group_flops[group] *= n


def scenario_record(spec, model, placement, system, batch: int, prefill, steps) -> dict:
    """One flat result record of a scenario (plus a nested ``breakdown`` for JSON output)."""
    for p in [prefill, *steps]:
        _scale_replicas(p, dict(p.run_replicas))
    step_s = [s.time_ps / 1e12 for s in steps]
    tpot = _trapezoid(step_s)
    tokens = steps[0].tokens
    energy_step = _trapezoid([_energy_total(s.energy_J) for s in steps])
    components = sorted({k for s in steps for k in s.energy_J})
    breakdown = {k: _trapezoid([s.energy_J.get(k, 0.0) for s in steps]) / tokens for k in components}
    groups = sorted({g for s in steps for g in s.group_busy})
    flops = _trapezoid([sum(s.group_flops.values()) for s in steps])
    peak = _trapezoid([sum(s.peak_flops.values()) for s in steps])
    record = {
        "placement": spec.placement, "model": model.name, "system": system.name, "batch": batch,
        "precision": spec.precision, "prompt_tokens": spec.prompt_tokens, "output_tokens": spec.output_tokens,
        "context": spec.prompt_tokens + spec.output_tokens,
        "tokens_per_s": tokens / tpot if tpot else 0.0, "ttft_s": prefill.time_ps / 1e12, "tpot_s": tpot,
        "e2e_latency_s": prefill.time_ps / 1e12 + (spec.output_tokens - 1) * tpot,
        # None, not 0, when no device of the run has an energy model (e.g. UPMEM)
        "energy_per_token_J": energy_step / tokens if energy_step else None,
        "prefill_energy_J": _energy_total(prefill.energy_J) or None,
        "weight_bytes_per_step": _trapezoid([s.weight_bytes for s in steps]),
        "kv_bytes_per_step": _trapezoid([s.kv_bytes_read for s in steps]),
        "bytes_read_per_step": _trapezoid([s.bytes_read for s in steps]),
        "link_bytes_per_step": _trapezoid([s.run.link_bytes for s in steps]),
        "compute_utilisation": flops / peak if peak else 0.0,
    }
    for group in groups:
        record[f"busy.{group}"] = _trapezoid([s.group_busy.get(group, 0.0) for s in steps])
    devices = sorted({d for s in steps for d in s.run.busy_ps})
    links = sorted({k for s in steps for k in s.run.bytes_by_link})
    record["breakdown"] = {"energy_per_token_J": breakdown,
                           "busy_by_device": {d: _trapezoid([s.run.utilisation(d) for s in steps]) for d in devices},
                           "link_bytes_per_step": {k: _trapezoid([s.run.bytes_by_link.get(k, 0) for s in steps])
                                                   for k in links},
                           "decode_steps": [{"context": s.context, "time_s": s.time_ps / 1e12} for s in steps],
                           "notes": list(steps[0].notes)}
    return record
