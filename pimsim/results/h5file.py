"""The HDF5 layout of a sweep's results file, and reading it back with every field checked.

::

    /                      attrs: format = "pimsim-sweep", format_version, name, kind,
                                  sweep (the sweep file as JSON), pimsim_version
    /units                 attrs: column name -> unit ("" for a pure number)
    /points/<key>          attrs: status, kind, params, config, resolved (JSON texts),
                                  seed, error, pimsim_version, run_id, elapsed_s, finished_at
    /points/<key>/metrics  attrs: metric name -> value (int64, float64, bool or text)

A file is always written whole, in memory, and handed to
:func:`pimsim.core.io.atomic_write_bytes`, so on disk there is only ever the
previous complete file or the new complete file.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import h5py
import numpy as np

from pimsim.core.errors import ResultsError
from pimsim.core.io import atomic_write_bytes
from pimsim.results.record import PointRecord, safe_text

FORMAT = "pimsim-sweep"
FORMAT_VERSION = 1
JSON_FIELDS = ("params", "config", "resolved")
SCALAR_FIELDS = ("status", "kind", "seed", "error", "pimsim_version", "run_id", "elapsed_s", "finished_at")
# h5py raises these for damaged or unexpected content; each becomes one ResultsError.
H5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError, IndexError,
             UnicodeDecodeError)


@dataclasses.dataclass(frozen=True)
class Header:
    """What a results file says about its sweep as a whole."""

    name: str
    kind: str
    sweep: dict
    units: dict
    pimsim_version: str = ""


def write_results(path, header: Header, records, replace_all: bool = False) -> None:
    """Write ``records`` into the results file at ``path`` (created if absent), atomically.

    The existing file is loaded into memory, the given points are added (a point
    already there is replaced), and the whole image is written back through a
    temporary file and a rename: the cost grows with the points written, not
    with the size of the file. ``replace_all`` starts from an empty file.
    """
    existing = Path(path).is_file() and not replace_all
    with _memory_file(path, existing) as f:
        _write_header(f, header)
        points = f["points"] if "points" in f else f.create_group("points", track_order=True)
        for rec in records:
            if rec.key in points:
                del points[rec.key]
            _write_point(points.create_group(rec.key, track_order=True), rec)
        f.flush()
        image = f.id.get_file_image()
    atomic_write_bytes(path, image)


def _memory_file(path, existing: bool):
    """The results file opened in memory (HDF5's core driver): changes never touch the file on disk."""
    if existing:
        try:
            return h5py.File(path, "r+", driver="core", backing_store=False, locking=False)
        except H5_ERRORS as exc:
            raise ResultsError(f"cannot update: not a readable HDF5 file ({_short(exc)})", str(path)) from None
    return h5py.File(f"in-memory-{uuid.uuid4().hex}.h5", "w", driver="core", backing_store=False,
                     track_order=True)


def _write_header(f, header: Header) -> None:
    f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, "name": safe_text(header.name),
                    "kind": safe_text(header.kind), "sweep": json.dumps(header.sweep, sort_keys=True, default=str),
                    "pimsim_version": safe_text(header.pimsim_version)})
    if "units" in f:
        del f["units"]
    units = f.create_group("units", track_order=True)
    for column, unit in header.units.items():
        units.attrs[safe_text(column)] = safe_text(unit)


def _write_point(g, rec: PointRecord) -> None:
    for name in JSON_FIELDS:
        g.attrs[name] = json.dumps(getattr(rec, name), sort_keys=True, default=str)
    for name in SCALAR_FIELDS:
        value = getattr(rec, name)
        g.attrs[name] = safe_text(value) if isinstance(value, str) else value
    m = g.create_group("metrics", track_order=True)
    for name, value in rec.metrics.items():
        m.attrs[name] = value


def read_status(path) -> tuple[Header, dict[str, tuple[str, str]]]:
    """The header and {key: (status, error)} of every point, reading nothing else (fast, for resuming)."""
    out = {}
    with _open_for_reading(path) as f:
        try:
            header = _read_header(f, str(path))
            for key, g in _points(f, str(path)).items():
                where = f"{path}: points/{key}"
                status = _text_attr(g.attrs, "status", where)
                out[key] = (status, _text_attr(g.attrs, "error", where))
        except ResultsError:
            raise
        except H5_ERRORS as exc:
            raise ResultsError(f"damaged results file ({_short(exc)})", str(path)) from None
    return header, out


def _open_for_reading(path):
    try:
        return h5py.File(path, "r", locking=False)
    except FileNotFoundError:
        raise ResultsError("file not found", str(path)) from None
    except IsADirectoryError:
        raise ResultsError("is a directory, not a results file", str(path)) from None
    except H5_ERRORS as exc:
        raise ResultsError(f"not a readable HDF5 file ({_short(exc)})", str(path)) from None


def _points(f, where: str):
    points = f.get("points")
    if not isinstance(points, h5py.Group):
        raise ResultsError("no 'points' group: not a pimsim sweep results file", where)
    return points


def read_results(path) -> tuple[Header, dict[str, PointRecord]]:
    """Read a results file; anything missing, mistyped or damaged is one ResultsError naming it."""
    f = _open_for_reading(path)
    try:
        with f:
            header = _read_header(f, str(path))
            points = _points(f, str(path))
            records = {}
            for key in points:
                rec = _read_point(points[key], f"{path}: points/{key}")
                if rec.key != key:
                    raise ResultsError(f"group name does not match its key '{rec.key}'", f"{path}: points/{key}")
                records[key] = rec
            return header, records
    except ResultsError:
        raise
    except H5_ERRORS as exc:
        raise ResultsError(f"damaged results file ({_short(exc)})", str(path)) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _text_attr(attrs, name: str, where: str) -> str:
    value = attrs.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise ResultsError(f"attribute '{name}' is missing or not a text", where)
    return value


def _json_attr(attrs, name: str, where: str):
    text = _text_attr(attrs, name, where)
    try:
        return json.loads(text)
    except ValueError:
        raise ResultsError(f"attribute '{name}' is not valid JSON", where) from None


def _read_header(f, where: str) -> Header:
    if _plain(f.attrs.get("format")) != FORMAT:
        raise ResultsError(f"not a pimsim sweep results file (no format = '{FORMAT}' attribute)", where)
    version = _plain(f.attrs.get("format_version"))
    if version != FORMAT_VERSION:
        raise ResultsError(f"results format version {version!r} is not the supported {FORMAT_VERSION}", where)
    sweep = _json_attr(f.attrs, "sweep", where)
    if not isinstance(sweep, dict):
        raise ResultsError("attribute 'sweep' is not a mapping", where)
    units_group = f.get("units")
    units = {}
    if isinstance(units_group, h5py.Group):
        for column in units_group.attrs:
            units[column] = _text_attr(units_group.attrs, column, f"{where}: units")
    return Header(_text_attr(f.attrs, "name", where), _text_attr(f.attrs, "kind", where), sweep, units,
                  _text_attr(f.attrs, "pimsim_version", where))


def _plain(value):
    """An HDF5 attribute value as a Python scalar (numpy scalars unwrapped, bytes decoded)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value


def _read_point(g, where: str) -> PointRecord:
    if not isinstance(g, h5py.Group):
        raise ResultsError("expected a point group", where)
    data = {"key": g.name.rsplit("/", 1)[-1]}
    for name in JSON_FIELDS:
        data[name] = _json_attr(g.attrs, name, where)
    for name in SCALAR_FIELDS:
        if name not in g.attrs:
            raise ResultsError(f"attribute '{name}' is missing", where)
        data[name] = _plain(g.attrs[name])
    metrics = g.get("metrics")
    if not isinstance(metrics, h5py.Group):
        raise ResultsError("no 'metrics' group", where)
    values = {}
    for name in metrics.attrs:
        value = _plain(metrics.attrs[name])
        if isinstance(value, np.ndarray):
            raise ResultsError(f"metric '{name}' is an array, not one value", f"{where}/metrics")
        values[name] = value
    data["metrics"] = values
    return PointRecord.from_mapping(data, where)
