"""A sweep's results as one tidy table: a row per point, a column per parameter and metric.

Parameter columns are named by the shortest dotted suffix of their config path
that is unique (``scenario.batch`` -> ``batch``, ``device.timing_cycles.tRCD_RD``
-> ``tRCD_RD``), so ``--x batch`` works whatever the point kind calls its paths;
the full path is accepted too. Units come from the results file (written from
the metric registry and the sweep's ``units:``), else from the registry.
"""

from __future__ import annotations

import dataclasses
import json
import math

from pimsim.core.errors import ConfigError, did_you_mean
from pimsim.results import metrics as metric_registry
from pimsim.results.h5file import Header
from pimsim.results.record import PointRecord

INFO_FRONT = ("point", "status")
INFO_BACK = ("seed", "error")


@dataclasses.dataclass(frozen=True)
class Table:
    """Columns in order, what each one is, its unit, and the rows (column -> value, None if absent)."""

    name: str
    columns: tuple[str, ...]
    roles: dict            # column -> "param" | "metric" | "info"
    sources: dict          # column -> config path or metric name it came from
    units: dict            # column -> unit text or None
    rows: tuple[dict, ...]

    def of_role(self, role: str) -> list[str]:
        return [c for c in self.columns if self.roles[c] == role]

    def column(self, name: str, role: str | None = None) -> str:
        """The column ``name`` refers to: a column name, a config path, or a unique dotted suffix of one."""
        candidates = [c for c in self.columns if role is None or self.roles[c] == role]
        for c in candidates:
            if name in (c, self.sources[c]):
                return c
        suffix = [c for c in candidates if self.sources[c].endswith("." + name)]
        if len(suffix) == 1:
            return suffix[0]
        what = f"{role} column" if role else "column"
        if len(suffix) > 1:
            raise ConfigError(f"'{name}' matches several {what}s: {', '.join(suffix)}")
        raise ConfigError(f"no {what} '{name}' in {self.name}{did_you_mean(name, candidates)}")

    def label(self, column: str) -> str:
        return metric_registry.axis_label(column, self.units.get(column))


def build_table(header: Header, records, include_failed: bool = True) -> Table:
    """The tidy table of ``records`` (sorted by parameter values, then key)."""
    records = [r for r in records if include_failed or r.ok]
    paths = _param_paths(header, records)
    metric_names = _metric_names(records)
    short = _short_names(paths, set(metric_names) | set(INFO_FRONT) | set(INFO_BACK))
    columns = [*INFO_FRONT, *(short[p] for p in paths), *metric_names, *INFO_BACK]
    roles = {**{c: "info" for c in (*INFO_FRONT, *INFO_BACK)}, **{short[p]: "param" for p in paths},
             **{m: "metric" for m in metric_names}}
    sources = {**{c: c for c in columns}, **{short[p]: p for p in paths}}
    units = {c: _unit(header, sources[c]) for c in columns if roles[c] != "info"}
    units.update({c: None for c in (*INFO_FRONT, *INFO_BACK)})
    rows = [_row(r, paths, short, metric_names) for r in records]
    rows.sort(key=lambda row: (tuple(sort_key(row[short[p]]) for p in paths), row["point"]))
    return Table(header.name or "results", tuple(columns), roles, sources, units, tuple(rows))


def _param_paths(header: Header, records) -> list[str]:
    """Swept paths: the sweep file's order (``axes``) first, then any others the records carry."""
    axes = header.sweep.get("axes")
    order = list(axes) if isinstance(axes, list) else []
    seen = dict.fromkeys(p for p in order if isinstance(p, str))
    for r in records:
        seen.update(dict.fromkeys(r.params))
    present = {p for r in records for p in r.params}
    return [p for p in seen if p in present]


def _metric_names(records) -> list[str]:
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r.metrics))
    return list(names)


def _short_names(paths: list[str], taken: set[str]) -> dict[str, str]:
    """For each path, its shortest dotted suffix that no other path or column shares."""
    out = {}
    for p in paths:
        parts = p.split(".")
        for n in range(1, len(parts) + 1):
            candidate = ".".join(parts[-n:])
            clash = candidate in taken or any(q != p and (q == candidate or q.endswith("." + candidate))
                                              for q in paths)
            if not clash:
                break
        else:
            candidate = f"param:{p}"   # the full path is itself taken (a parameter named 'status')
        out[p] = candidate
    return out


def _unit(header: Header, source: str):
    if source in header.units:
        return header.units[source] or None
    return metric_registry.unit_of(source)


def _row(r: PointRecord, paths, short, metric_names) -> dict:
    row = {"point": r.key, "status": r.status, "seed": r.seed, "error": r.error}
    row.update({short[p]: r.params.get(p) for p in paths})
    row.update({m: r.metrics.get(m) for m in metric_names})
    return row


def sort_key(value):
    """Order mixed values: missing, then numbers (numerically), then texts, then anything else."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value if not math.isnan(value) else math.inf, "")
    if isinstance(value, str):
        return (2, 0, value)
    return (3, 0, json.dumps(value, sort_keys=True, default=str))


def cell_text(value) -> str:
    """A value as CSV/table text; floats keep every digit (they read back bit for bit)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)
