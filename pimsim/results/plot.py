"""``pimsim plot``: one metric against one column of a sweep, a line per value of a third, as PNG and PDF.

Any column works for ``x``, ``y`` and ``hue`` (see :mod:`pimsim.results.table`);
axes carry the units the results file records. Points that differ in a column
the plot does not show would be drawn on top of each other, so that is an
error naming the column, unless ``--where`` picks one value or ``--agg``
combines them.
"""

from __future__ import annotations

import io
import math
import statistics
from pathlib import Path

import yaml

from pimsim.core.errors import ConfigError
from pimsim.core.io import atomic_write_bytes
from pimsim.results.export import refuse_overwrite
from pimsim.results.store import load
from pimsim.results.table import Table, build_table, cell_text, sort_key

AGGREGATES = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max}


def plot_results(results, x: str, y: str, hue: str | None = None, where=(), agg: str | None = None,
                 logx: bool = False, logy: bool = False, output=None, title: str | None = None) -> list[Path]:
    """Draw ``y`` over ``x`` (a line per ``hue`` value); write PNG and PDF; return their paths."""
    fig, xcol, ycol = make_figure(results, x, y, hue, where, agg, logx, logy, title)
    stem = _stem(results, output, xcol, ycol)
    paths = []
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150, metadata={"CreationDate": None} if fmt == "pdf" else None)
        path = stem.with_name(f"{stem.name}.{fmt}")
        refuse_overwrite(results, path)
        paths.append(atomic_write_bytes(path, buf.getvalue()))
    return paths


def make_figure(results, x: str, y: str, hue: str | None = None, where=(), agg: str | None = None,
                logx: bool = False, logy: bool = False, title: str | None = None):
    """The matplotlib Figure of the plot, with the x and y column names it resolved."""
    header, records = load(results)
    table = build_table(header, records.values(), include_failed=False)
    rows = filter_rows(table, where)
    xcol, ycol = table.column(x), table.column(y)
    hcol = table.column(hue) if hue else None
    series = _series(table, rows, xcol, ycol, hcol, agg)
    return _figure(table, series, xcol, ycol, hcol, logx, logy, title or _title(table.name, where)), xcol, ycol


def _title(name: str, where) -> str:
    return f"{name} ({', '.join(where)})" if where else name


def filter_rows(table: Table, where) -> list[dict]:
    """Rows matching every ``column=value`` of ``where`` (values read as YAML: ``8``, ``true``, ``GPU``)."""
    rows = list(table.rows)
    if not rows:
        raise ConfigError(f"{table.name} has no finished points yet")
    for text in where or ():
        if "=" not in text:
            raise ConfigError(f"--where expects column=value, got '{text}'")
        name, _, raw = text.partition("=")
        col = table.column(name.strip())
        try:
            wanted = yaml.safe_load(raw)
        except yaml.YAMLError:
            wanted = raw
        rows = [r for r in rows if r[col] == wanted or cell_text(r[col]) == raw.strip()]
        if not rows:
            raise ConfigError(f"--where {text}: no finished point has {col} = {raw.strip()}")
    return rows


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _series(table: Table, rows, xcol, ycol, hcol, agg) -> dict:
    """{hue value: [(x, y), ...]} with one y per x, aggregated or refused when points collide."""
    groups: dict = {}
    for r in rows:
        if r[ycol] is None or r[xcol] is None:
            continue
        if not _number(r[ycol]):
            raise ConfigError(f"column '{ycol}' is not numeric (value {cell_text(r[ycol])!r:.40}); "
                              "plot a metric on --y")
        key = (_hashable(r[hcol]) if hcol else None, _hashable(r[xcol]))
        groups.setdefault(key, []).append(r)
    if not groups:
        raise ConfigError(f"nothing to plot: no finished point has both '{xcol}' and '{ycol}'")
    series: dict = {}
    for (h, xv), members in groups.items():
        if len(members) > 1 and agg is None:
            raise ConfigError(_collision(table, members, xcol, hcol))
        ys = [m[ycol] for m in members]
        series.setdefault(h, []).append((xv, AGGREGATES[agg](ys) if agg else ys[0]))
    return {h: sorted(pts, key=lambda p: sort_key(p[0])) for h, pts in sorted(series.items(),
                                                                              key=lambda i: sort_key(i[0]))}


def _hashable(value):
    return cell_text(value) if isinstance(value, (dict, list)) else value


def _collision(table: Table, members, xcol, hcol) -> str:
    shown = f"{xcol} = {cell_text(members[0][xcol])}" + (f", {hcol} = {cell_text(members[0][hcol])}" if hcol
                                                            else "")
    varying = [c for c in table.of_role("param") if c not in (xcol, hcol)
               and len({cell_text(m[c]) for m in members}) > 1]
    col = varying[0] if varying else "point"
    values = [cell_text(v) for v in sorted({_hashable(m[col]) for m in members}, key=sort_key)]
    return (f"{len(members)} points share {shown}; they differ in {col} ({', '.join(values[:4])}"
            f"{', ...' if len(values) > 4 else ''}): pick one with --where {col}={values[0]}, use --hue {col}, "
            "or combine them with --agg mean")


def _figure(table: Table, series: dict, xcol, ycol, hcol, logx, logy, title):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    xs_all = [p[0] for pts in series.values() for p in pts]
    numeric_x = all(_number(v) for v in xs_all)
    if numeric_x:
        for h, pts in series.items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4,
                    label=cell_text(h) if hcol else None)
    else:
        _bars(ax, series, hcol, xs_all)
    _scale(ax, logx and numeric_x, logy, xs_all, [p[1] for pts in series.values() for p in pts])
    ax.set_xlabel(table.label(xcol))
    ax.set_ylabel(table.label(ycol))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if hcol:
        ax.legend(title=table.label(hcol), fontsize="small")
    return fig


def _bars(ax, series: dict, hcol, xs_all) -> None:
    """Categories on x (placements, mappings): grouped bars, one colour per hue value, no lines between."""
    categories = sorted({_hashable(v) for v in xs_all}, key=sort_key)
    width = 0.8 / len(series)
    for i, (h, pts) in enumerate(series.items()):
        where = [categories.index(_hashable(p[0])) - 0.4 + width * (i + 0.5) for p in pts]
        ax.bar(where, [p[1] for p in pts], width=width, label=cell_text(h) if hcol else None)
    ax.set_xticks(range(len(categories)), [cell_text(c) for c in categories],
                  rotation=30 if len(categories) > 6 else 0)


def _scale(ax, logx, logy, xs, ys) -> None:
    """Log axes where asked, if every value is positive (else the request is an error, not a blank plot)."""
    for on, values, axis in ((logx, xs, "x"), (logy, ys, "y")):
        if not on:
            continue
        if any(not (v > 0) or math.isinf(v) for v in values):
            raise ConfigError(f"--log{axis}: the {axis} values include zero, negative or infinite numbers")
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=2 if axis == "x" else 10)
        if axis == "x":
            from matplotlib.ticker import FuncFormatter

            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))   # 1, 2, 4 ... not 2^0


def _stem(results, output, xcol: str, ycol: str) -> Path:
    if output:
        out = Path(output)
        return out.with_suffix("") if out.suffix.lower() in (".png", ".pdf") else out
    res = Path(results)
    return res.with_name(f"{res.stem}_{ycol}_vs_{xcol}".replace("/", "_"))
