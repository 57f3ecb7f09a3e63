"""Point kind ``scenario``: one placement of one workload on one system, as ``pimsim compare`` runs it.

The point's configuration (sweep paths reach every key)::

    model: llama2-70b            # workload preset (or YAML / HF config.json)
    placement: attacc            # gpu, attacc, npu, npu+pim, neupim, cent, upmem, cxl-tiered
    batch: 64                    # or "max": the largest batch that fits
    context: 4096                # prompt + generated tokens
    output_len: 128
    system: null                 # default: the placement's own system
    system_set: {}               # overrides of the system, e.g. {devices.gpu.count: 16}
    options: {}                  # placement options, e.g. {ffn_split: none}
    samples: 3                   # decode steps simulated (trapezoid average)
    fidelity: null               # PIM kernels: tile or command (default: the presets', tile)

Metrics are those of :mod:`pimsim.experiments.metrics` plus ``max_busy`` (the
busiest device group's utilisation) and the batch actually run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pimsim.core.config import build, param
from pimsim.core.errors import ConfigError
import pimsim.experiments.metrics  # noqa: F401  (declares the scenario metrics and their units)
from pimsim.experiments.kinds import PointKind, Prepared
from pimsim.results.metrics import metric

metric("max_busy", "", "utilisation of the busiest device group over a decode step")

NUMERIC = ("batch", "tokens_per_s", "ttft_s", "tpot_s", "e2e_latency_s", "energy_per_token_J", "prefill_energy_J",
           "weight_bytes_per_step", "kv_bytes_per_step", "bytes_read_per_step", "link_bytes_per_step",
           "compute_utilisation")


@dataclasses.dataclass(frozen=True)
class ScenarioPointConfig:
    """One ``scenario`` point."""

    model: str = param("workload preset, workload YAML or HF config.json", default="llama2-70b")
    placement: str = param("placement name", default="gpu")
    batch: Any = param("sequences served together, or 'max'", default=64)
    context: int = param("prompt + generated tokens", default=4096, minimum=2)
    output_len: int = param("tokens generated per request", default=128, minimum=1)
    system: str | None = param("system preset (default: the placement's)", default=None)
    system_set: dict[str, Any] = param("overrides of the system preset, path -> value", default={})
    options: dict[str, Any] = param("placement options", default={})
    samples: int = param("decode steps simulated", default=3, minimum=1)
    max_positions: int | None = param("let the model attend more tokens than its config allows", default=None)
    fidelity: str | None = param("PIM kernels: tile (closed form) or command (every command simulated)",
                                 default=None, choices=("tile", "command"))
    precision: str = param("bits of weights, activations and KV cache, e.g. FP16, W4A16, W8A8KV8", default="FP16")


def _spec(task: dict):
    from pimsim.experiments.scenario import ScenarioSpec

    batch = task["batch"]
    if batch == "max":
        batch = 0
    elif isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"batch must be a positive integer or 'max', got {batch!r}", "point: batch")
    if task["output_len"] >= task["context"]:
        raise ConfigError(f"output_len ({task['output_len']}) must be shorter than context ({task['context']})",
                          "point: output_len")
    return ScenarioSpec(model=task["model"], placement=task["placement"], batch=batch,
                        prompt_tokens=task["context"] - task["output_len"], output_tokens=task["output_len"],
                        system=task["system"], placement_options=tuple(sorted(task["options"].items())),
                        system_sets=tuple(f"{k}={v}" for k, v in sorted(task["system_set"].items())),
                        decode_samples=task["samples"], max_positions=task["max_positions"],
                        fidelity=task.get("fidelity"), precision=task.get("precision", "FP16"))


class ScenarioPoint(PointKind, kind="scenario"):
    """Throughput, latency and energy of a placement, as ``pimsim compare`` reports them."""

    def prepare(self, raw: dict, base_dir: Path, seed: int) -> Prepared:
        from pimsim.experiments.scenario import load_inputs

        from pimsim.trace.scenario import parse_precision

        cfg = build(ScenarioPointConfig, raw, "point:")
        parse_precision(cfg.precision, "point: precision")
        task = dataclasses.asdict(cfg)
        model, placement, system = load_inputs(_spec(task))          # checks names, options and the system
        resolved = {**task, "system": system.name, "model_config": dataclasses.asdict(model)}
        return Prepared(task=task, resolved=resolved, identity=resolved)

    def run(self, task: dict, seed: int) -> dict:
        from pimsim.experiments.scenario import run_scenario

        record = run_scenario(_spec(task))
        out = {k: record[k] for k in NUMERIC if record.get(k) is not None}
        busy = [v for k, v in record.items() if k.startswith("busy.")]
        out["max_busy"] = max(busy) if busy else 0.0
        return out
