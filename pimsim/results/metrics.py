"""Metric names and their units, declared in one place.

A metric is a number a run reports (``bandwidth_GBps``, ``tokens_per_s``). Every
point kind declares the metrics it returns with :func:`metric`; a point that
returns an undeclared name fails, so a table or plot never shows a number whose
unit nobody wrote down. Swept parameters may declare a unit the same way
(``batch`` in sequences); the sweep file's ``units:`` adds more.

Units are stored next to the values in every results file, so plots and
tables read them from the file even if the registry has changed since.
"""

from __future__ import annotations

import dataclasses

from pimsim.core.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Metric:
    """A named quantity with its unit (``""`` for a pure number) and one line about it."""

    name: str
    unit: str
    doc: str


_METRICS: dict[str, Metric] = {}


def metric(name: str, unit: str, doc: str) -> Metric:
    """Declare a metric (or a parameter's unit); declaring it again with another unit is a bug."""
    known = _METRICS.get(name)
    if known is not None and known.unit != unit:
        raise ValueError(f"metric '{name}' declared with unit '{known.unit}' and '{unit}'")
    _METRICS[name] = known or Metric(name, unit, doc)
    return _METRICS[name]


def get(name: str) -> Metric:
    """The declared metric ``name``; an undeclared name is a ConfigError listing the known ones."""
    from pimsim.core.errors import did_you_mean

    try:
        return _METRICS[name]
    except KeyError:
        raise ConfigError(f"metric '{name}' is not declared{did_you_mean(name, _METRICS)}") from None


def is_declared(name: str) -> bool:
    return name in _METRICS


def unit_of(column: str) -> str | None:
    """Unit of a column: its own declaration, else that of its last dotted part (``scenario.batch``)."""
    for name in (column, column.rsplit(".", 1)[-1]):
        if name in _METRICS:
            return _METRICS[name].unit
    return None


def all_metrics() -> list[Metric]:
    return [_METRICS[k] for k in sorted(_METRICS)]


def axis_label(column: str, unit: str | None) -> str:
    """``"bandwidth_GBps (GB/s)"``: a column with its unit, for axes and table headers."""
    return f"{column} ({unit})" if unit else column


# Parameters that sweeps commonly vary; their units label axes and table headers.
metric("batch", "sequences", "sequences served together")
metric("context_tokens", "tokens", "keys attended at the first decode step")
metric("prompt_tokens", "tokens", "prompt length per sequence")
metric("output_tokens", "tokens", "tokens generated per sequence")
metric("tensor_parallel", "shards", "tensor-parallel degree")
