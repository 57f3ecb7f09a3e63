"""Memory-request trace files: Ramulator 2's formats and pimsim's own.

Accepted formats (``fmt``; ``auto`` detects from the first request line):

``loadstore``  Ramulator LoadStoreTrace: ``LD 0x12340`` / ``ST 4096``.
``readwrite``  Ramulator ReadWriteTrace with a linear address: ``R 0x12340`` / ``W 4096``.
``vector``     Ramulator ReadWriteTrace with a DRAM address vector, one number per
               level from channel down to bank, then row and column (column in
               access units): ``R 0,1,0,2,3,100,7`` for HBM3 (ch,pc,sid,bg,ba,row,col).
``pimsim``     ``<cycle> <R|W> <address>``: the request may not enter the
               controller before frontend cycle ``cycle`` (non-decreasing);
               the file starts with ``# pimsim dram trace v1``.

Blank lines and lines starting with ``#`` are skipped. Any malformed line is a
:class:`TraceError` naming the file and line number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pimsim.core.errors import TraceError
from pimsim.dram.mapping import map_addresses
from pimsim.dram.memory import RequestBatch

FORMATS = ("auto", "loadstore", "readwrite", "vector", "pimsim")
PIMSIM_HEADER = "# pimsim dram trace v1"
_OPS = {"loadstore": {"LD": False, "ST": True}, "readwrite": {"R": False, "W": True},
        "vector": {"R": False, "W": True}, "pimsim": {"R": False, "W": True}}


def _lines(path: Path):
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise TraceError("trace file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace: {exc}", str(path)) from None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped.split()


def detect_format(path: Path) -> str:
    try:
        with open(path) as fh:
            head = fh.readline().strip()
    except FileNotFoundError:
        raise TraceError("trace file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace: {getattr(exc, 'strerror', None) or exc}", str(path)) from None
    if head.startswith(PIMSIM_HEADER):
        return "pimsim"
    for number, tokens in _lines(path):
        if tokens[0] in ("LD", "ST"):
            return "loadstore"
        if tokens[0] in ("R", "W"):
            return "vector" if len(tokens) > 1 and "," in tokens[1] else "readwrite"
        if tokens[0].isdigit() and len(tokens) == 3:
            return "pimsim"
        raise TraceError(f"cannot tell the trace format from '{' '.join(tokens)}'", f"{path}:{number}")
    raise TraceError("trace has no requests", str(path))


def _int(text: str, where: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise TraceError(f"'{text}' is not a number", where) from None
    if value < 0:
        raise TraceError(f"'{text}' is negative", where)
    return value


def read_trace(path, spec, fmt: str = "auto", mapping: str | None = None) -> RequestBatch:
    """Read a trace file into a :class:`RequestBatch` for DRAM ``spec``."""
    path = Path(path)
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format '{fmt}'; valid: {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "vector":
        return _read_vectors(path, spec)
    ops = _OPS[fmt]
    ntok = 3 if fmt == "pimsim" else 2
    addresses, writes, cycles = [], [], []
    last_cycle = 0
    for number, tokens in _lines(path):
        where = f"{path}:{number}"
        if len(tokens) != ntok:
            raise TraceError(f"expected {ntok} fields for a {fmt} trace, got {len(tokens)}: '{' '.join(tokens)}'",
                             where)
        if fmt == "pimsim":
            cycle = _int(tokens[0], where)
            if cycle < last_cycle:
                raise TraceError(f"cycle {cycle} is earlier than the previous line's {last_cycle}", where)
            cycles.append(cycle)
            last_cycle = cycle
            tokens = tokens[1:]
        op = ops.get(tokens[0])
        if op is None:
            raise TraceError(f"unknown request type '{tokens[0]}' (expected {' or '.join(ops)})", where)
        writes.append(op)
        addr = _int(tokens[1], where)
        if addr >= spec.capacity_bytes:
            raise TraceError(f"address {addr:#x} is beyond the {spec.capacity_bytes:#x} bytes of {spec.name}", where)
        addresses.append(addr)
    if not addresses:
        raise TraceError("trace has no requests", str(path))
    at = np.asarray(cycles, dtype=np.int64) + 1 if fmt == "pimsim" else None
    return map_addresses(spec, addresses, writes, mapping, at=at)


def _read_vectors(path: Path, spec) -> RequestBatch:
    sizes = [spec.organisation.channels] + spec.level_sizes() + [spec.organisation.rows,
                                                                 spec.organisation.accesses_per_row]
    names = list(spec.family.levels) + ["row", "column"]
    rows, writes = [], []
    for number, tokens in _lines(path):
        where = f"{path}:{number}"
        if len(tokens) != 2 or tokens[0] not in ("R", "W"):
            raise TraceError(f"expected 'R|W v0,v1,...', got '{' '.join(tokens)}'", where)
        fields = tokens[1].split(",")
        if len(fields) != len(sizes):
            raise TraceError(f"address vector has {len(fields)} fields; {spec.name} needs {len(sizes)} "
                             f"({','.join(names)})", where)
        values = [_int(f, where) for f in fields]
        for value, size, name in zip(values, sizes, names):
            if value >= size:
                raise TraceError(f"{name} {value} is out of range (0..{size - 1})", where)
        rows.append(values)
        writes.append(tokens[0] == "W")
    if not rows:
        raise TraceError("trace has no requests", str(path))
    arr = np.asarray(rows, dtype=np.int64)
    bank = np.zeros(len(arr), dtype=np.int64)
    for j, size in enumerate(sizes[1:-2], start=1):
        bank = bank * size + arr[:, j]
    return RequestBatch(arr[:, 0], bank, arr[:, -2], arr[:, -1], np.asarray(writes, dtype=bool))


def write_trace(path, addresses, writes, cycles=None) -> None:
    """Write a trace in pimsim's own format (atomically)."""
    from pimsim.core.io import atomic_write_text

    cycles = np.zeros(len(addresses), dtype=np.int64) if cycles is None else cycles
    lines = [PIMSIM_HEADER, "# cycle op address"]
    lines += [f"{int(c)} {'W' if w else 'R'} {int(a):#x}" for c, a, w in zip(cycles, addresses, writes)]
    atomic_write_text(path, "\n".join(lines) + "\n")
