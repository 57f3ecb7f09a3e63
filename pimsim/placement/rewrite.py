"""Rewriting a trace for a placement: dropping, splitting and re-wiring operators.

Placements that overlap work (AttAcc's head-group pipelining, splitting an FFN
between GPU and PIM) or fold work into another operator (a PIM attention kernel
reads the KV cache itself) build a new trace with :class:`Rewriter`: operators
are copied, split or dropped in order, dependencies follow, and every new
operator gets its device. Split pieces keep the physics of the whole: FLOPs,
weight bytes and outputs are divided; an input every piece needs is read by
every piece.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.trace.table import OpTable


def _part(value: int, fraction: float) -> int:
    return int(math.ceil(value * fraction)) if value else 0


def split_columns(rec, fraction: float, **extra):
    """The share ``fraction`` of a weight product's output columns (``n``)."""
    act = max(1, int(rec.activation_bits) // 8)
    inputs = int(rec.m) * int(rec.k) * act
    weights = _part(int(rec.weight_bytes), fraction)
    return dataclasses.replace(rec, n=max(1, _part(int(rec.n), fraction)), flops=_part(int(rec.flops), fraction),
                               weight_bytes=weights, bytes_read=weights + inputs,
                               bytes_written=_part(int(rec.bytes_written), fraction), **extra)


def split_rows(rec, fraction: float, **extra):
    """The share ``fraction`` of a weight product's reduction rows (``k``): partial sums of the full output."""
    weights = _part(int(rec.weight_bytes), fraction)
    inputs = _part(int(rec.bytes_read) - int(rec.weight_bytes), fraction)
    return dataclasses.replace(rec, k=max(1, _part(int(rec.k), fraction)), flops=_part(int(rec.flops), fraction),
                               weight_bytes=weights, bytes_read=weights + inputs, **extra)


def split_heads(rec, fraction: float, **extra):
    """The share ``fraction`` of an operator's attention heads (everything scales with them)."""
    fields = {k: _part(int(getattr(rec, k)), fraction) for k in ("flops", "bytes_read", "bytes_written",
                                                                  "weight_bytes")}
    if rec.heads:
        fields["heads"] = max(1, _part(int(rec.heads), fraction))
    if rec.kind not in ("attention_score", "softmax", "attention_context", "kv_read", "kv_write") and rec.n:
        fields["n"] = max(1, _part(int(rec.n), fraction))
    return dataclasses.replace(rec, **fields, **extra)


class Rewriter:
    """Builds a new trace (records + devices) from an old one, operator by operator."""

    def __init__(self, trace):
        self.trace = trace
        self.records: list = []
        self.devices: list[str] = []
        self.streams: list[int] = []
        self.priorities: list[float] = []              # order on a device among ready operators
        self.ends: dict[int, tuple[int, ...]] = {}     # old id -> new ids its consumers depend on
        self.current = 0                               # old id being rewritten (default priority)

    def deps(self, old: int) -> tuple[int, ...]:
        """New ids standing for the inputs of old operator ``old``."""
        out: list[int] = []
        for d in self.trace.deps_of(old):
            out.extend(self.ends[d])
        return tuple(dict.fromkeys(out))

    def emit(self, rec, device: str, deps, stream: int = 0, priority: float | None = None) -> int:
        new = dataclasses.replace(rec, id=len(self.records), deps=tuple(deps))
        self.records.append(new)
        self.devices.append(device)
        self.streams.append(stream)
        self.priorities.append(self.current * 1000.0 if priority is None else priority)
        return new.id

    def keep(self, old: int, device: str, stream: int = 0) -> int:
        self.current = old
        new = self.emit(self.trace.record(old), device, self.deps(old), stream)
        self.ends[old] = (new,)
        return new

    def drop(self, old: int) -> None:
        """Remove ``old``: its consumers depend on its inputs instead."""
        self.ends[old] = self.deps(old)

    def table(self) -> OpTable:
        return OpTable.from_records(self.records, self.trace.meta)
