"""The points of a sweep: every combination of the grid axes and zipped groups, set into the base config."""

from __future__ import annotations

import copy
import itertools
import math

from pimsim.core.errors import ConfigError
from pimsim.experiments.sweepfile import SweepSpec

MAX_POINTS = 1_000_000


def point_count(spec: SweepSpec) -> int:
    sizes = [len(v) for v in spec.grid.values()] + [len(next(iter(g.values()))) for g in spec.zip]
    return math.prod(sizes)


def expand(spec: SweepSpec) -> list[dict]:
    """The swept values of every point, ``{path: value}``, the last axis varying fastest."""
    count = point_count(spec)
    if count > MAX_POINTS:
        raise ConfigError(f"the sweep has {count:,} points, more than {MAX_POINTS:,}; split it")
    axes = [[{path: v} for v in values] for path, values in spec.grid.items()]
    axes += [[dict(zip(group, vals)) for vals in zip(*group.values())] for group in spec.zip]
    return [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*axes)]


def set_path(config: dict, path: str, value) -> dict:
    """A copy of ``config`` with the dotted ``path`` set to ``value`` (missing mappings are created)."""
    out = copy.deepcopy(config)
    node = out
    keys = path.split(".")
    for i, key in enumerate(keys[:-1]):
        nxt = node.setdefault(key, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"cannot set '{path}': '{'.'.join(keys[:i + 1])}' is {nxt!r:.40}, not a mapping",
                              f"grid.{path}")
        node = nxt
    node[keys[-1]] = copy.deepcopy(value)
    return out


def point_config(base: dict, params: dict) -> dict:
    for path, value in params.items():
        base = set_path(base, path, value)
    return base
