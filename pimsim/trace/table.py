"""OpTable: a whole trace held as columns, one numpy array per record field.

A full request of a 70B model is millions of operators; holding them as
Python objects would cost seconds and gigabytes. An OpTable keeps each field
as one array (``phase``, ``kind`` and ``name`` as integer codes into
:data:`~pimsim.trace.schema.PHASES`, :data:`~pimsim.trace.schema.KINDS` and
the table's own ``names``) and the dependencies in compressed-row form:
the deps of row ``i`` are ``dep_ids[dep_ptr[i]:dep_ptr[i + 1]]``.
:class:`~pimsim.trace.schema.OpRecord` views are made on demand.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np

from pimsim.trace.schema import CODED_COLUMNS, KINDS, NUMERIC_DTYPES, NUMERIC_NAMES, PHASES, OpRecord

CODE_DTYPES = {"phase": np.int8, "kind": np.int8, "name": np.int16}
COLUMN_DTYPES = {**NUMERIC_DTYPES, **CODE_DTYPES}


class OpTable:
    """An operator trace: columns, dependencies, operator names and the header (``meta``)."""

    def __init__(self, columns: Mapping[str, np.ndarray], dep_ptr: np.ndarray, dep_ids: np.ndarray,
                 names: tuple[str, ...], meta: Mapping | None = None):
        self.columns = {c: np.asarray(columns[c], dtype=COLUMN_DTYPES[c]) for c in COLUMN_DTYPES}
        self.dep_ptr = np.asarray(dep_ptr, dtype=np.int64)
        self.dep_ids = np.asarray(dep_ids, dtype=np.int64)
        self.names = tuple(names)
        self.meta = dict(meta or {})
        rows = {len(a) for a in self.columns.values()}
        if len(rows) != 1 or len(self.dep_ptr) != len(self) + 1:
            raise ValueError("OpTable columns and dep_ptr disagree on the number of operators")

    def __len__(self) -> int:
        return len(self.columns["id"])

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    # -- records --------------------------------------------------------------

    def deps_of(self, row: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.dep_ids[self.dep_ptr[row]:self.dep_ptr[row + 1]])

    def record(self, row: int) -> OpRecord:
        """The operator in ``row`` as an :class:`OpRecord`."""
        values = {c: int(self.columns[c][row]) for c in NUMERIC_NAMES}
        return OpRecord(phase=PHASES[self.columns["phase"][row]], kind=KINDS[self.columns["kind"][row]],
                        name=self.names[self.columns["name"][row]], deps=self.deps_of(row), **values)

    def __iter__(self) -> Iterator[OpRecord]:
        return (self.record(i) for i in range(len(self)))

    @classmethod
    def from_records(cls, records, meta: Mapping | None = None) -> "OpTable":
        """Build a table from OpRecords (for small traces and tests)."""
        records = list(records)
        names = tuple(dict.fromkeys(r.name for r in records))
        name_code = {n: i for i, n in enumerate(names)}
        cols = {c: [getattr(r, c) for r in records] for c in NUMERIC_NAMES}
        cols["phase"] = [PHASES.index(r.phase) for r in records]
        cols["kind"] = [KINDS.index(r.kind) for r in records]
        cols["name"] = [name_code[r.name] for r in records]
        ptr = np.cumsum([0] + [len(r.deps) for r in records])
        ids = [d for r in records for d in r.deps]
        return cls({c: np.asarray(v, dtype=COLUMN_DTYPES[c]) for c, v in cols.items()}, ptr, ids, names, meta)

    # -- selection and totals ---------------------------------------------------

    def select(self, mask: np.ndarray) -> "OpTable":
        """The operators where ``mask`` is true (ids and dependencies unchanged)."""
        mask = np.asarray(mask, dtype=bool)
        counts = np.diff(self.dep_ptr)
        keep_dep = np.repeat(mask, counts)
        ptr = np.concatenate([[0], np.cumsum(counts[mask])])
        return OpTable({c: a[mask] for c, a in self.columns.items()}, ptr, self.dep_ids[keep_dep],
                       self.names, self.meta)

    def where(self, *, kind: str | None = None, phase: str | None = None, layer: int | None = None,
              name: str | None = None) -> "OpTable":
        """Operators matching every given field, e.g. ``table.where(kind="kv_write", layer=0)``."""
        mask = np.ones(len(self), dtype=bool)
        if kind is not None:
            mask &= self.columns["kind"] == KINDS.index(kind)
        if phase is not None:
            mask &= self.columns["phase"] == PHASES.index(phase)
        if layer is not None:
            mask &= self.columns["layer"] == layer
        if name is not None:
            mask &= self.columns["name"] == (self.names.index(name) if name in self.names else -1)
        return self.select(mask)

    def total(self, column: str) -> int:
        """Sum of ``column`` over all shards of all operators (e.g. whole-model FLOPs)."""
        values = self.columns[column].astype(np.int64) * self.columns["shards"]
        return int(values.sum(dtype=np.int64))

    def equals(self, other: "OpTable") -> bool:
        """True if both tables hold the same operators, names and header."""
        if len(self) != len(other) or self.meta != other.meta:
            return False
        same_cols = all(np.array_equal(self[c], other[c]) for c in COLUMN_DTYPES if c != "name")
        mine = np.asarray(self.names, dtype=object)[self["name"]] if len(self) else []
        theirs = np.asarray(other.names, dtype=object)[other["name"]] if len(other) else []
        return (same_cols and np.array_equal(mine, theirs) and np.array_equal(self.dep_ptr, other.dep_ptr)
                and np.array_equal(self.dep_ids, other.dep_ids))


def concat(tables: list[OpTable], meta: Mapping | None = None) -> OpTable:
    """Join tables end to end; each table's ids (and deps) are shifted past the ones before it."""
    names = tuple(dict.fromkeys(n for t in tables for n in t.names))
    code = {n: i for i, n in enumerate(names)}
    shifts = np.cumsum([0] + [int(t["id"].max()) + 1 if len(t) else 0 for t in tables[:-1]])
    columns = {}
    for c in COLUMN_DTYPES:
        parts = []
        for t, shift in zip(tables, shifts):
            if c == "name":
                parts.append(np.array([code[n] for n in t.names] or [0], dtype=np.int16)[t[c]])
            else:
                parts.append(t[c] + shift if c == "id" else t[c])
        columns[c] = np.concatenate(parts) if parts else np.zeros(0, COLUMN_DTYPES[c])
    counts = [np.diff(t.dep_ptr) for t in tables]
    ptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]) if tables else np.zeros(1, np.int64)
    ids = np.concatenate([t.dep_ids + s for t, s in zip(tables, shifts)]) if tables else np.zeros(0, np.int64)
    return OpTable(columns, ptr, ids, names, meta if meta is not None else (tables[0].meta if tables else {}))


__all__ = ["OpTable", "concat", "CODED_COLUMNS", "COLUMN_DTYPES"]
