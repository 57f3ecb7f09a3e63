"""JSON Lines traces: a header object on the first line, then one operator per line.

Readable and diffable; meant for traces up to some hundred thousand operators
(use HDF5 beyond). The header carries ``format``, ``schema_version``,
``pimsim_version`` and the trace's header fields (``model``, ``scenario``,
...). Each operator line has exactly the fields of
:class:`~pimsim.trace.schema.OpRecord`, in that order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import numpy as np

from pimsim import __version__
from pimsim.core.errors import TraceError
from pimsim.trace.schema import FIELD_ORDER, KIND_CODE, KINDS, NUMERIC_NAMES, PHASE_CODE, PHASES, SCHEMA_VERSION
from pimsim.trace.table import COLUMN_DTYPES, OpTable
from pimsim.trace.validate import check_table

FORMAT = "pimsim-trace"
RESERVED = ("format", "schema_version", "pimsim_version")
_BOUNDS = {c: (int(np.iinfo(COLUMN_DTYPES[c]).min), int(np.iinfo(COLUMN_DTYPES[c]).max)) for c in NUMERIC_NAMES}


def write_jsonl(table: OpTable, out: IO[str]) -> None:
    """Write ``table`` as JSON Lines to the text stream ``out``."""
    header = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "pimsim_version": __version__, **table.meta}
    out.write(json.dumps(header, separators=(",", ":")) + "\n")
    numeric = [table[c].tolist() for c in NUMERIC_NAMES]
    phases = [json.dumps(p) for p in PHASES]
    kinds = [json.dumps(k) for k in KINDS]
    names = [json.dumps(n) for n in table.names]
    ptr, deps = table.dep_ptr.tolist(), table.dep_ids.tolist()
    phase, kind, name = table["phase"].tolist(), table["kind"].tolist(), table["name"].tolist()
    keys = [f'"{c}":' for c in NUMERIC_NAMES]
    for row in range(len(table)):
        values = [f"{k}{col[row]}" for k, col in zip(keys, numeric)]
        text = ",".join(values[:3] + [f'"phase":{phases[phase[row]]}', f'"kind":{kinds[kind[row]]}',
                                      f'"name":{names[name[row]]}'] + values[3:])
        out.write("{" + text + ',"deps":[' + ",".join(map(str, deps[ptr[row]:ptr[row + 1]])) + "]}\n")


def read_jsonl(path: Path) -> OpTable:
    """Read a JSON Lines trace; any problem is a TraceError naming the file and line."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace: {exc}", str(path)) from None
    if not lines:
        raise TraceError("empty file (expected a header line)", str(path))
    meta = read_header(_parse(lines[0], path, 1), f"{path}:1")
    rows: dict[str, list] = {c: [] for c in COLUMN_DTYPES}
    names: dict[str, int] = {}
    counts, deps = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        op = _parse(line, path, number)
        _read_op(op, rows, names, f"{path}:{number}")
        counts.append(len(op["deps"]))
        deps.extend(op["deps"])
    lines_of = [n for n, line in enumerate(lines[1:], start=2) if line.strip()]
    table = OpTable({c: np.asarray(v, dtype=COLUMN_DTYPES[c]) for c, v in rows.items()},
                    np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]), np.asarray(deps, np.int64),
                    tuple(names), meta)
    check_table(table, str(path), lambda row: f"{path}:{lines_of[row]}")
    return table


def read_header(header: dict, where: str) -> dict:
    """Check the format and schema version of a header; return the trace's header fields."""
    if header.get("format") != FORMAT:
        raise TraceError(f"not a pimsim trace (format {header.get('format')!r}, expected '{FORMAT}')", where)
    version = header.get("schema_version")
    if version != SCHEMA_VERSION:
        raise TraceError(f"trace schema version {version!r} written by pimsim {header.get('pimsim_version')}; "
                         f"this pimsim reads version {SCHEMA_VERSION}: regenerate the trace", where)
    return {k: v for k, v in header.items() if k not in RESERVED}


def _parse(line: str, path, number: int) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TraceError(f"malformed JSON: {exc.msg} at column {exc.colno}", f"{path}:{number}") from None
    if not isinstance(value, dict):
        raise TraceError("expected a JSON object", f"{path}:{number}")
    return value


def _read_op(op: dict, rows: dict, names: dict, where: str) -> None:
    missing = [f for f in FIELD_ORDER if f not in op]
    if missing:
        raise TraceError(f"missing field '{missing[0]}'", where)
    unknown = [f for f in op if f not in FIELD_ORDER]
    if unknown:
        raise TraceError(f"unknown field '{unknown[0]}'", where)
    for column in NUMERIC_NAMES:
        value = op[column]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TraceError(f"field '{column}' must be an integer, got {value!r}", where)
        if not _BOUNDS[column][0] <= value <= _BOUNDS[column][1]:
            raise TraceError(f"field '{column}' is out of range ({value})", where)
        rows[column].append(value)
    for column, codes in (("phase", PHASE_CODE), ("kind", KIND_CODE)):
        if op[column] not in codes:
            raise TraceError(f"unknown {column} {op[column]!r}; valid: {', '.join(codes)}", where)
        rows[column].append(codes[op[column]])
    if not isinstance(op["name"], str):
        raise TraceError(f"field 'name' must be text, got {op['name']!r}", where)
    rows["name"].append(names.setdefault(op["name"], len(names)))
    deps = op["deps"]
    if not isinstance(deps, list) or any(isinstance(d, bool) or not isinstance(d, int) for d in deps):
        raise TraceError(f"field 'deps' must be a list of operator ids, got {deps!r}", where)
