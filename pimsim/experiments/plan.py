"""Planning a sweep: each point's configuration checked, resolved and keyed by a hash.

A point's key is the SHA-256 (first 20 hex digits) of its kind, seed and
*identity* — the resolved configuration with presets expanded and input files
replaced by their digests. Two points that would compute the same thing share a
key, so a point renamed, reordered or moved to another sweep file is still
found finished; a changed preset or trace gives a new key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from pimsim.core.errors import PimsimError
from pimsim.experiments.grid import expand, point_config
from pimsim.experiments.kinds import kind_named
from pimsim.experiments.sweepfile import SweepSpec

KEY_HEX_DIGITS = 20


@dataclasses.dataclass(frozen=True)
class Point:
    """One planned point: ready to run (``error`` empty) or already known to be invalid."""

    key: str
    params: dict
    config: dict
    task: dict
    resolved: dict
    seed: int
    error: str = ""


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def point_key(kind: str, seed: int, identity) -> str:
    text = canonical_json({"kind": kind, "seed": seed, "identity": identity})
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_HEX_DIGITS]


def plan_sweep(spec: SweepSpec, base_dir: Path) -> list[Point]:
    """Every distinct point of ``spec`` in grid order; invalid ones carry their error.

    If every point is invalid the sweep file itself is wrong: that raises the
    first point's error instead.
    """
    kind = kind_named(spec.kind)
    base = kind.normalise(dict(spec.base))
    points: dict[str, Point] = {}
    first_error = None
    for params in expand(spec):
        config: dict = {}
        try:
            config = point_config(base, params)
            prepared = kind.prepare(config, base_dir, spec.seed)
        except PimsimError as exc:
            first_error = first_error or exc
            key = point_key(spec.kind, spec.seed, {"invalid": config})
            points.setdefault(key, Point(key, params, config, {}, {}, spec.seed, _located(exc, params)))
            continue
        key = point_key(spec.kind, spec.seed, prepared.identity)
        points.setdefault(key, Point(key, params, config, prepared.task, prepared.resolved, spec.seed))
    if first_error is not None and all(p.error for p in points.values()):
        raise first_error
    return list(points.values())


def _located(exc: PimsimError, params: dict) -> str:
    values = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{exc.one_line()} (point {values})" if values else exc.one_line()
