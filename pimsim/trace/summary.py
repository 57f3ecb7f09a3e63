"""Trace summaries: FLOPs, bytes and arithmetic intensity per operator kind (or phase, or name).

Arithmetic intensity is FLOPs per byte moved (read plus written). Set against
a device's FLOPs-to-bandwidth ratio (an A100: about 150 FLOP/B at FP16) it
shows at a glance which operators are memory-bound: in decode, the weight
products of a small batch sit near 1 FLOP/B.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pimsim.trace.schema import KINDS, PHASES
from pimsim.trace.table import OpTable

GROUPINGS = ("kind", "phase", "name")
ATTENTION_KINDS = ("kv_read", "attention_score", "softmax", "attention_context")


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """Totals over every shard of the operators sharing one kind (phase, name)."""

    label: str
    ops: int
    flops: float
    bytes_read: float
    bytes_written: float
    weight_bytes: float

    @property
    def arithmetic_intensity(self) -> float:
        moved = self.bytes_read + self.bytes_written
        return self.flops / moved if moved else 0.0


def summarise(table: OpTable, by: str = "kind") -> list[SummaryRow]:
    """One row per distinct ``by`` value in table order of the value lists, then a total row."""
    labels = {"kind": KINDS, "phase": PHASES, "name": table.names}[by]
    codes = table[by].astype(np.int64)
    shards = table["shards"].astype(np.float64)
    sums = {c: np.bincount(codes, weights=table[c] * shards, minlength=len(labels))
            for c in ("flops", "bytes_read", "bytes_written", "weight_bytes")}
    counts = np.bincount(codes, minlength=len(labels))
    rows = [SummaryRow(labels[i], int(counts[i]), *(float(sums[c][i]) for c in sums))
            for i in range(len(labels)) if counts[i]]
    total = SummaryRow("total", len(table), *(float(v.sum()) for v in sums.values()))
    return rows + [total]


def _si(value: float, unit: str) -> str:
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3f} {prefix}{unit}"
    return f"{value:.0f} {unit}"


def summary_text(table: OpTable, by: str = "kind") -> str:
    """A table for the terminal: the trace's header, then one line per kind (phase, name)."""
    model = table.meta.get("model", {}).get("name", "?")
    scenario = table.meta.get("scenario", {})
    steps = int(table["step"].max()) + 1 if len(table) else 0
    lines = [f"model {model}; scenario {_scenario_line(scenario)}; {len(table)} operators in {steps} passes",
             f"{by:<18} {'ops':>9} {'FLOPs':>14} {'read':>12} {'written':>12} {'weights':>12} {'FLOP/B':>9}"]
    rows = summarise(table, by)
    for row in rows:
        lines.append(f"{row.label:<18} {row.ops:>9} {_si(row.flops, 'FLOP'):>14} {_si(row.bytes_read, 'B'):>12} "
                     f"{_si(row.bytes_written, 'B'):>12} {_si(row.weight_bytes, 'B'):>12} "
                     f"{row.arithmetic_intensity:>9.2f}")
    attention = [r for r in rows if r.label in ATTENTION_KINDS]
    if by == "kind" and any(r.label == "kv_read" for r in attention):
        flops = sum(r.flops for r in attention)
        moved = sum(r.bytes_read + r.bytes_written for r in attention)
        lines.append(f"(kv_read brings the KV cache to attention_score and attention_context; "
                     f"attention with its KV reads: {flops / moved:.2f} FLOP/B)")
    return "\n".join(lines)


def _scenario_line(s: dict) -> str:
    if not s:
        return "?"
    decode_at = s.get("context_tokens") if s.get("phase") == "decode" else None
    length = f"context {decode_at}" if decode_at is not None else f"prompt {s.get('prompt_tokens')}"
    parts = [f"phase {s.get('phase')}", f"batch {s.get('batch')}", length, f"output {s.get('output_tokens')}",
             str(s.get("precision"))]
    if s.get("requests"):
        parts[1:4] = [f"request mix of {sum(r['count'] for r in s['requests'])}, at most {s.get('batch')} at once"]
    if s.get("tensor_parallel", 1) > 1:
        parts.append(f"TP {s['tensor_parallel']}")
    if s.get("speculative"):
        sp = s["speculative"]
        parts.append(f"speculative {sp['draft']} k={sp['tokens']} a={sp['acceptance_rate']}")
    return ", ".join(parts)
