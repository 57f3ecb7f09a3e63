"""Laying out operators: from per-pass templates to the columns of a whole trace.

A segment (``repeats`` x a list of passes) becomes arrays of shape
``(repeats, rows_per_repeat)`` per column, filled one template operator at a
time with numpy broadcasting, then flattened in execution order: repeat by
repeat, pass by pass, and within a pass embedding, layer 0 .. L-1, final norm,
lm_head. Dependencies are kept as offsets to earlier rows until the whole
trace is laid out, then turned into ids.
"""

from __future__ import annotations

import numpy as np

from pimsim.trace.ops import ENTRY, OpSpec, PassOps
from pimsim.trace.schema import KIND_CODE, PHASE_CODE
from pimsim.trace.table import COLUMN_DTYPES

LAID_OUT = [c for c in COLUMN_DTYPES if c not in ("id", "step")]


class Layout:
    """Columns of consecutive segments, plus relative dependencies, growing as passes are added."""

    def __init__(self):
        self.parts: dict[str, list[np.ndarray]] = {c: [] for c in COLUMN_DTYPES if c != "id"}
        self.dep_counts: list[np.ndarray] = []
        self.dep_offsets: list[np.ndarray] = []
        self.names: dict[str, int] = {}
        self.steps = 0

    def add_segment(self, repeats: int, passes: list[tuple[PassOps, dict]]) -> None:
        """Lay out ``repeats`` repetitions of ``passes`` (each: its operators and column defaults)."""
        blocks = [self._pass_columns(ops, defaults, repeats) for ops, defaults in passes]
        for c in LAID_OUT:
            joined = blocks[0][c] if len(blocks) == 1 else np.concatenate([b[c] for b in blocks], axis=1)
            self.parts[c].append(joined.ravel())
        rows = [b["kind"].shape[1] for b in blocks]
        step = self.steps + np.arange(repeats)[:, None] * len(passes) + np.repeat(np.arange(len(passes)), rows)
        self.parts["step"].append(step.ravel().astype(np.int32))
        self.steps += repeats * len(passes)
        counts, offsets = zip(*(pass_dependencies(ops) for ops, _ in passes))
        self.dep_counts.append(np.tile(np.concatenate(counts), repeats))
        self.dep_offsets.append(np.tile(np.concatenate(offsets), repeats))

    def _pass_columns(self, ops: PassOps, defaults: dict, repeats: int) -> dict[str, np.ndarray]:
        layers, per_layer = ops.layers, len(ops.layer)
        pre, post = len(ops.pre), len(ops.post)
        width = pre + layers * per_layer + post
        out = {c: np.zeros((repeats, width), dtype=COLUMN_DTYPES[c]) for c in LAID_OUT}
        body = {c: a[:, pre:pre + layers * per_layer].reshape(repeats, layers, per_layer) for c, a in out.items()}
        out["layer"][:] = -1
        body["layer"][:] = np.arange(layers, dtype=np.int32)[None, :, None]
        for j, op in enumerate(ops.pre):
            self._fill(out, (slice(None), j), op, defaults, repeats)
        for j, op in enumerate(ops.layer):
            self._fill(body, (slice(None), slice(None), j), op, defaults, repeats)
        for j, op in enumerate(ops.post):
            self._fill(out, (slice(None), pre + layers * per_layer + j), op, defaults, repeats)
        return out

    def _fill(self, target: dict, index, op: OpSpec, defaults: dict, repeats: int) -> None:
        code = self.names.setdefault(op.name, len(self.names))
        target["kind"][index] = KIND_CODE[op.kind]
        target["phase"][index] = PHASE_CODE[op.phase]
        target["name"][index] = code
        for column, value in {**defaults, **op.values}.items():
            if isinstance(value, np.ndarray) and len(index) == 2:
                value = np.broadcast_to(value, (repeats, 1))[:, 0]
            target[column][index] = value

    def finish(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, tuple[str, ...]]:
        """Columns with ids, and dependencies as (dep_ptr, dep_ids), dropping operators of no work."""
        columns = {c: _joined(v, COLUMN_DTYPES[c]) for c, v in self.parts.items()}
        counts = np.concatenate(self.dep_counts) if self.dep_counts else np.zeros(0, np.int64)
        offsets = np.concatenate(self.dep_offsets) if self.dep_offsets else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        targets = rows + offsets
        keep = idle_mask(columns)
        valid = (targets >= 0) & keep[rows] & keep[np.maximum(targets, 0)]
        new_id = np.cumsum(keep, dtype=np.int64) - 1
        per_row = np.bincount(rows[valid], minlength=len(keep))[keep]
        dep_ptr = np.concatenate([[0], np.cumsum(per_row)])
        if not keep.all():
            columns = {c: a[keep] for c, a in columns.items()}
        columns["id"] = np.arange(int(keep.sum()), dtype=np.int64)
        names = tuple(sorted(self.names, key=self.names.get))
        return columns, dep_ptr, new_id[targets[valid]], names


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def idle_mask(columns: dict[str, np.ndarray]) -> np.ndarray:
    """False for MoE experts that received no token (they do no work and are not in the trace)."""
    return ~((columns["kind"] == KIND_CODE["expert_ffn"]) & (columns["m"] == 0))


def pass_dependencies(ops: PassOps) -> tuple[np.ndarray, np.ndarray]:
    """Per row of one pass: number of deps and their offsets (negative) to the rows they wait for."""
    pre, per_layer = len(ops.pre), len(ops.layer)
    deps: list[list[int]] = []
    for j, op in enumerate(ops.pre):
        deps.append([j - 1 if d == ENTRY else d for d in op.deps])  # -1: the previous pass
    exits = [pre - 1]
    for layer in range(ops.layers):
        base = pre + layer * per_layer
        for op in ops.layer:
            deps.append([e for d in op.deps for e in (exits if d == ENTRY else [base + d])])
        exits = [base + e for e in ops.exits]
    base = pre + ops.layers * per_layer
    for op in ops.post:
        deps.append([e for d in op.deps for e in (exits if d == ENTRY else [base + d])])
    counts = np.array([len(d) for d in deps], dtype=np.int64)
    offsets = np.array([t - row for row, d in enumerate(deps) for t in d], dtype=np.int64)
    return counts, offsets
