"""Point kind ``trace-summary``: the operator trace of a model under a scenario, totalled.

The point's configuration (sweep paths reach inside ``scenario``)::

    model: llama2-70b          # workload preset, workload YAML or HF config.json (relative to the sweep file)
    scenario: {preset: decode-batch32-ctx4096, batch: 8}   # or Scenario fields alone, or a preset name

The sweep's ``seed`` becomes the scenario's MoE routing seed and request-order
seed unless the point's scenario mapping sets them. The model and the scenario
are resolved while planning and shipped to the worker as plain data.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pimsim.core.config import build, deep_merge, param
from pimsim.experiments.kinds import PointKind, Prepared
from pimsim.results.metrics import metric

metric("ops", "operators", "operators in the trace")
metric("flops", "FLOP", "floating-point operations, all shards")
metric("bytes_read", "B", "bytes read, all shards")
metric("bytes_written", "B", "bytes written, all shards")
metric("weight_bytes", "B", "model-weight bytes read, all shards")
metric("kv_bytes_read", "B", "KV-cache bytes read (kv_read operators)")
metric("kv_bytes_written", "B", "KV-cache bytes written (kv_write operators)")
metric("arithmetic_intensity", "FLOP/B", "FLOPs per byte read or written, whole trace")
metric("attention_intensity", "FLOP/B", "FLOPs per byte of attention with its KV-cache reads")
metric("gemm_intensity", "FLOP/B", "FLOPs per byte of the weight products (gemm and gemv)")


@dataclasses.dataclass(frozen=True)
class TraceSummaryConfig:
    """One ``trace-summary`` point."""

    model: str = param("workload preset, workload YAML or Hugging Face config.json", default="llama2-7b")
    scenario: dict[str, Any] = param("scenario fields, optionally {preset: NAME, ...}", default={})


class TraceSummary(PointKind, kind="trace-summary"):
    """Operator counts, FLOPs, bytes and arithmetic intensity of a generated trace."""

    def normalise(self, raw: dict) -> dict:
        if isinstance(raw.get("scenario"), str):
            raw = {**raw, "scenario": {"preset": raw["scenario"]}}
        return raw

    def prepare(self, raw: dict, base_dir: Path, seed: int) -> Prepared:
        from pimsim.trace.model import load_model

        cfg = build(TraceSummaryConfig, self.normalise(raw), "point:")
        model_path = Path(base_dir) / cfg.model
        name = str(model_path) if model_path.suffix in (".json", ".yaml", ".yml") and model_path.is_file() \
            else cfg.model
        cache = self.__dict__.setdefault("_models", {})   # one planning pass reads each model once
        model = cache[name] if name in cache else cache.setdefault(name, load_model(name))
        scenario = _scenario(cfg.scenario, seed)
        resolved = {"model": _plain(model), "scenario": scenario.as_dict()}
        return Prepared(task=resolved, resolved=resolved, identity=resolved)

    def run(self, task: dict, seed: int) -> dict:
        from pimsim.trace import generate
        from pimsim.trace.model import ModelConfig
        from pimsim.trace.scenario import Scenario

        model = build(ModelConfig, task["model"], "model:")
        table = generate(model, build(Scenario, task["scenario"], "scenario:"))
        return trace_metrics(table)


def _plain(obj) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def _scenario(raw: dict, seed: int):
    """A Scenario from an optional preset plus fields; the sweep seed fills unset seeds."""
    from pimsim.trace.scenario import build_scenario, load_scenario

    raw = dict(raw)
    data = load_scenario(raw.pop("preset")).as_dict() if "preset" in raw else {}
    if not isinstance(raw.get("routing", {}), dict):
        return build_scenario(deep_merge(data, raw), "point: scenario")  # reports the bad routing
    routing = raw.get("routing", {})
    seeds = {"request_seed": raw.get("request_seed", seed), "routing": {"seed": routing.get("seed", seed)}}
    return build_scenario(deep_merge(deep_merge(data, raw), seeds), "point: scenario")


def trace_metrics(table) -> dict:
    """Whole-trace totals of ``table`` (all shards) as metrics."""
    from pimsim.trace.summary import ATTENTION_KINDS, summarise

    rows = {r.label: r for r in summarise(table, "kind")}
    total = rows["total"]

    def intensity(kinds) -> float:
        picked = [rows[k] for k in kinds if k in rows]
        moved = sum(r.bytes_read + r.bytes_written for r in picked)
        return sum(r.flops for r in picked) / moved if moved else 0.0

    return {"ops": total.ops, "flops": total.flops, "bytes_read": total.bytes_read,
            "bytes_written": total.bytes_written, "weight_bytes": total.weight_bytes,
            "kv_bytes_read": rows["kv_read"].bytes_read if "kv_read" in rows else 0.0,
            "kv_bytes_written": rows["kv_write"].bytes_written if "kv_write" in rows else 0.0,
            "arithmetic_intensity": total.arithmetic_intensity,
            "attention_intensity": intensity(ATTENTION_KINDS), "gemm_intensity": intensity(("gemm", "gemv"))}
