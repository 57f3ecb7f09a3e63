"""HDF5 traces: one compressed dataset per column, for traces of millions of operators.

Layout: file attributes ``format``, ``schema_version``, ``pimsim_version`` and
``meta`` (the trace header as JSON); group ``ops`` with one dataset per
numeric field, ``phase``/``kind``/``name`` as integer codes whose meanings are
the group attributes ``phases``, ``kinds`` and ``names`` (so a file stays
readable if the lists grow), and dependencies as ``dep_ptr``/``dep_ids``.
h5py is imported only when a file is read or written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pimsim import __version__
from pimsim.core.errors import TraceError
from pimsim.trace.jsonl import FORMAT, read_header
from pimsim.trace.schema import KINDS, PHASES, SCHEMA_VERSION
from pimsim.trace.table import COLUMN_DTYPES, OpTable
from pimsim.trace.validate import check_table

_CODE_LISTS = {"phase": ("phases", PHASES), "kind": ("kinds", KINDS)}


def write_hdf5(table: OpTable, path: Path) -> None:
    """Write ``table`` to the HDF5 file ``path`` (overwritten)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs.update({"format": FORMAT, "schema_version": SCHEMA_VERSION, "pimsim_version": __version__,
                        "meta": json.dumps(table.meta)})
        ops = f.create_group("ops")
        ops.attrs.update({"phases": json.dumps(PHASES), "kinds": json.dumps(KINDS),
                          "names": json.dumps(table.names)})
        arrays = {**table.columns, "dep_ptr": table.dep_ptr, "dep_ids": table.dep_ids}
        for column, values in arrays.items():
            ops.create_dataset(column, data=values, compression="lzf" if len(values) > 1024 else None,
                               shuffle=len(values) > 1024)


def read_hdf5(path: Path) -> OpTable:
    """Read an HDF5 trace; a file that is not one, or is damaged, is a TraceError naming it."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return _read_file(f, str(path))
    except FileNotFoundError:
        raise TraceError("file not found", str(path)) from None
    except OSError as exc:
        raise TraceError(f"not a readable HDF5 trace ({exc})", str(path)) from None


def _read_file(f, where: str) -> OpTable:
    header = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items() if k != "meta"}
    meta = read_header(header, where)
    meta.update(_json_attr(f.attrs, "meta", where))
    ops = f.get("ops")
    if ops is None:
        raise TraceError("missing group 'ops'", where)
    arrays = {}
    for column in list(COLUMN_DTYPES) + ["dep_ptr", "dep_ids"]:
        if column not in ops:
            raise TraceError(f"missing dataset 'ops/{column}'", where)
        arrays[column] = ops[column][()]
    for column, (attr, current) in _CODE_LISTS.items():
        arrays[column] = _recode(arrays[column], _json_attr(ops.attrs, attr, where), current, column, where)
    names = tuple(_json_attr(ops.attrs, "names", where))
    lengths = {len(arrays[c]) for c in COLUMN_DTYPES}
    if len(lengths) != 1 or len(arrays["dep_ptr"]) != lengths.pop() + 1:
        raise TraceError("datasets in 'ops' have different lengths", where)
    table = OpTable({c: arrays[c] for c in COLUMN_DTYPES}, arrays["dep_ptr"], arrays["dep_ids"], names, meta)
    check_table(table, where)
    return table


def _json_attr(attrs, key: str, where: str):
    if key not in attrs:
        raise TraceError(f"missing attribute '{key}'", where)
    try:
        return json.loads(attrs[key])
    except (TypeError, json.JSONDecodeError):
        raise TraceError(f"attribute '{key}' is not valid JSON", where) from None


def _recode(codes: np.ndarray, stored: list, current: tuple, column: str, where: str) -> np.ndarray:
    """Map the file's codes to this pimsim's, by name."""
    unknown = [s for s in stored if s not in current]
    if unknown:
        raise TraceError(f"unknown {column} '{unknown[0]}' in the file", where)
    if list(stored) == list(current):
        return codes
    table = np.array([current.index(s) for s in stored], dtype=codes.dtype)
    if codes.size and (codes.min() < 0 or codes.max() >= len(table)):
        raise TraceError(f"dataset 'ops/{column}' has codes outside its list", where)
    return table[codes]
