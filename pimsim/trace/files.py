"""Reading and writing trace files, choosing the format by the file's suffix.

``.jsonl`` (JSON Lines) for readable traces, ``.h5``/``.hdf5`` for large
ones; both hold the same fields and convert into each other without loss.
Writes are atomic: a temporary file beside the target, renamed at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pimsim.core.errors import TraceError
from pimsim.trace.table import OpTable

JSONL_SUFFIXES = (".jsonl", ".ndjson")
HDF5_SUFFIXES = (".h5", ".hdf5")


def trace_format(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    raise TraceError(f"unknown trace format '{suffix or '(no suffix)'}'; use one of "
                     f"{', '.join(JSONL_SUFFIXES + HDF5_SUFFIXES)}", str(path))


def write_trace(table: OpTable, path: str | Path) -> Path:
    """Write ``table`` to ``path`` (format from the suffix), atomically."""
    path = Path(path)
    fmt = trace_format(path)
    if path.parent and not path.parent.is_dir():
        raise TraceError("directory does not exist", str(path.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if fmt == "jsonl":
            from pimsim.trace.jsonl import write_jsonl

            with os.fdopen(fd, "w") as out:
                write_jsonl(table, out)
        else:
            from pimsim.trace.hdf5 import write_hdf5

            os.close(fd)
            write_hdf5(table, Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_trace(path: str | Path) -> OpTable:
    """Read a trace written by :func:`write_trace` (or by hand, for JSON Lines)."""
    path = Path(path)
    fmt = trace_format(path)
    if not path.is_file():
        raise TraceError("file not found", str(path))
    if fmt == "jsonl":
        from pimsim.trace.jsonl import read_jsonl

        return read_jsonl(path)
    from pimsim.trace.hdf5 import read_hdf5

    return read_hdf5(path)
