"""Checks every trace passes when it is read: what a well-formed operator table is.

Readers call :func:`check_table` after loading; it raises a TraceError that
names the first offending operator (by id, and by line for JSON Lines).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pimsim.core.errors import TraceError
from pimsim.trace.schema import KINDS, NUMERIC_NAMES, PHASES
from pimsim.trace.table import OpTable

# Columns that may be negative: layer is -1 outside the decoder layers.
SIGNED = ("layer",)


def check_table(table: OpTable, where: str, locate: Callable[[int], str] | None = None) -> None:
    """Raise TraceError if ``table`` has a negative size, an unknown code or a dangling dependency."""
    locate = locate or (lambda row: f"{where}: operator id {int(table['id'][row])}")
    for column in NUMERIC_NAMES:
        if column in SIGNED:
            continue
        bad = np.flatnonzero(table[column] < 0)
        if bad.size:
            raise TraceError(f"field '{column}' is negative ({int(table[column][bad[0]])})", locate(bad[0]))
    for column, valid in (("kind", len(KINDS)), ("phase", len(PHASES)), ("name", len(table.names))):
        bad = np.flatnonzero((table[column] < 0) | (table[column] >= valid))
        if bad.size:
            raise TraceError(f"field '{column}' has an unknown code {int(table[column][bad[0]])}",
                             locate(bad[0]))
    _check_ids(table, locate)


def _check_ids(table: OpTable, locate) -> None:
    ids = table["id"]
    order = np.argsort(ids, kind="stable")
    repeated = np.flatnonzero(np.diff(ids[order]) == 0)
    if repeated.size:
        row = order[repeated[0] + 1]
        raise TraceError(f"id {int(ids[row])} is used twice", locate(row))
    if np.any(np.diff(table.dep_ptr) < 0) or table.dep_ptr[0] != 0 or table.dep_ptr[-1] != len(table.dep_ids):
        raise TraceError("dependency index is inconsistent", locate(0) if len(table) else None)
    known = np.isin(table.dep_ids, ids)
    if not known.all():
        first = int(np.flatnonzero(~known)[0])
        row = int(np.searchsorted(table.dep_ptr, first, side="right") - 1)
        raise TraceError(f"depends on id {int(table.dep_ids[first])}, which is not in the trace", locate(row))
