"""PointRecord: what a results file keeps about one sweep point.

A record is the point's identity (``key``, a hash of its resolved configuration),
what it was (the swept ``params``, the ``config`` it ran, the ``resolved``
presets, the ``seed``), what came out (``status``, ``metrics`` or ``error``) and
how it ran (pimsim version, run id, wall time). Metrics are flat: a name maps to
an int, a float, a bool or a short text, so that they survive HDF5 and JSON
bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Mapping

from pimsim.core.errors import ResultsError

STATUSES = ("ok", "failed")
INT64 = (-(2 ** 63), 2 ** 63 - 1)


@dataclasses.dataclass(frozen=True)
class PointRecord:
    """One finished (or failed) sweep point."""

    key: str
    status: str
    kind: str
    params: dict
    config: dict
    resolved: dict
    seed: int
    metrics: dict
    error: str = ""
    pimsim_version: str = ""
    run_id: str = ""
    elapsed_s: float = 0.0
    finished_at: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> PointRecord:
        """Rebuild a record from plain values, checking every field (files may be damaged or forged)."""
        if not isinstance(data, Mapping):
            raise ResultsError("expected a point record (a mapping)", where)
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(n for n in ("key", "status", "kind", "metrics") if n not in data)
        unknown = sorted(str(k) for k in data if k not in names)
        if missing or unknown:
            raise ResultsError(f"point record has {'missing' if missing else 'unknown'} field "
                               f"'{(missing or unknown)[0]}'", where)
        rec = cls(**{k: data[k] for k in names if k in data})
        rec.check(where)
        return rec

    def check(self, where: str) -> None:
        """Raise ResultsError naming ``where`` and the field if any field has the wrong shape."""
        expect = {"key": str, "status": str, "kind": str, "params": dict, "config": dict, "resolved": dict,
                  "metrics": dict, "error": str, "pimsim_version": str, "run_id": str, "finished_at": str}
        for name, tp in expect.items():
            if not isinstance(getattr(self, name), tp):
                raise ResultsError(f"field '{name}' should be {tp.__name__}, got {getattr(self, name)!r:.60}",
                                   where)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ResultsError(f"field 'seed' should be an integer, got {self.seed!r:.60}", where)
        if isinstance(self.elapsed_s, bool) or not isinstance(self.elapsed_s, (int, float)):
            raise ResultsError(f"field 'elapsed_s' should be a number, got {self.elapsed_s!r:.60}", where)
        if self.status not in STATUSES:
            raise ResultsError(f"status '{self.status:.40}' is not one of {', '.join(STATUSES)}", where)
        if not self.key or not self.key.isalnum():
            raise ResultsError(f"point key '{self.key:.40}' is not a hash", where)
        for name, value in self.metrics.items():
            check_metric_value(name, value, where)


def check_metric_value(name, value, where: str | None = None) -> None:
    """A metric value must be a bool, an int64, a float or a text; anything else is a ResultsError."""
    if not isinstance(name, str) or not name or "\x00" in name or not _encodable(name):
        raise ResultsError(f"metric name {name!r:.40} is not a plain text", where)
    if isinstance(value, str):
        if "\x00" in value or not _encodable(value):
            raise ResultsError(f"metric '{name}' is a text with a NUL or an unpaired surrogate", where)
        return
    if isinstance(value, (bool, float)):
        return
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise ResultsError(f"metric '{name}' = {value} does not fit 64 bits", where)
        return
    raise ResultsError(f"metric '{name}' has a value of type {type(value).__name__}; "
                       "expected a number, true/false or a text", where)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def safe_text(text: str) -> str:
    """``text`` as HDF5 can store it: no NUL characters, valid UTF-8 (anything else replaced by U+FFFD)."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def plain_metrics(metrics: Mapping) -> dict:
    """Metrics as Python scalars (numpy ints and floats converted; anything else left to be rejected)."""
    out = {}
    for name, value in metrics.items():
        if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
            value = value.item()
        out[name] = value
    return out


def same_metrics(a: Mapping, b: Mapping) -> bool:
    """Bit-identical metrics (NaN equals NaN)."""
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if type(x) is not type(y):
            return False
        if isinstance(x, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True
