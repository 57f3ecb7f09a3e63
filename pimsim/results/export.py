"""``pimsim export``: a results file as a tidy CSV table (one row per point) that pandas reads as is."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pimsim.core.errors import ConfigError
from pimsim.core.io import atomic_write_text
from pimsim.results.store import load
from pimsim.results.table import Table, build_table, cell_text


def table_csv(table: Table) -> str:
    """CSV text of ``table``: a header row of column names, then one row per point."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([cell_text(row[c]) for c in table.columns])
    return buf.getvalue()


def export_csv(results, output=None, include_failed: bool = True) -> tuple[Path, Table]:
    """Write the table of ``results`` to ``output`` (default: next to it, ``.csv``); return the path."""
    header, records = load(results)
    table = build_table(header, records.values(), include_failed=include_failed)
    output = Path(output) if output else Path(results).with_suffix(".csv")
    refuse_overwrite(results, output)
    atomic_write_text(output, table_csv(table))
    return output, table


def refuse_overwrite(results, output) -> None:
    """An export written over the results file it was made from would destroy it."""
    if Path(output).resolve() == Path(results).resolve():
        raise ConfigError(f"output '{output}' is the results file itself; choose another name")
