"""``pimsim export``, ``pimsim plot`` and ``pimsim report``: a results file as CSV, figures and tables."""

from __future__ import annotations

import click

RESULTS = click.argument("results", metavar="RESULTS.h5")


@click.command("export")
@RESULTS
@click.option("--csv", "as_csv", is_flag=True, default=True, help="A tidy CSV table, one row per point (default).")
@click.option("-o", "--output", metavar="FILE.csv", help="Output file (default: RESULTS.csv).")
@click.option("--ok-only", is_flag=True, help="Leave out failed points.")
def export_cmd(results, as_csv, output, ok_only):
    """Export a sweep's results as a CSV table (pandas.read_csv reads it as is)."""
    from pimsim.results.export import export_csv

    path, table = export_csv(results, output, include_failed=not ok_only)
    click.echo(f"{len(table.rows)} points, {len(table.columns)} columns -> {path}")


@click.command("plot")
@RESULTS
@click.option("--x", "x", required=True, help="Column on the x axis (a parameter such as batch).")
@click.option("--y", "y", required=True, help="Metric on the y axis, e.g. tokens_per_s.")
@click.option("--hue", help="One line per value of this column, e.g. placement.")
@click.option("--where", multiple=True, metavar="COLUMN=VALUE", help="Keep only points with this value.")
@click.option("--agg", type=click.Choice(["mean", "median", "min", "max"]),
              help="Combine points that share x and hue (default: refuse, naming the column that differs).")
@click.option("--logx", is_flag=True, help="Logarithmic x axis (base 2).")
@click.option("--logy", is_flag=True, help="Logarithmic y axis.")
@click.option("--title", help="Figure title (default: the sweep name).")
@click.option("-o", "--output", metavar="NAME",
              help="Output name without extension; .png and .pdf are written (default: next to RESULTS).")
def plot_cmd(results, x, y, hue, where, agg, logx, logy, title, output):
    """Plot a metric of a sweep against a parameter, as PNG and PDF with labelled axes and units.

    Example: pimsim plot results/decode.h5 --x batch --y arithmetic_intensity --hue model --logx
    """
    from pimsim.results.plot import plot_results

    paths = plot_results(results, x, y, hue, where, agg, logx, logy, output, title)
    click.echo(" ".join(str(p) for p in paths))


@click.command("report")
@RESULTS
@click.option("-m", "--metric", "metrics", multiple=True, help="Metric to include (repeat; default: all).")
@click.option("--where", multiple=True, metavar="COLUMN=VALUE", help="Keep only points with this value.")
@click.option("--digits", type=click.IntRange(1, 17), default=4, show_default=True, help="Significant digits.")
@click.option("-o", "--output", metavar="NAME",
              help="Output name without extension; .md and .tex are written (default: next to RESULTS).")
def report_cmd(results, metrics, where, digits, output):
    """Write a sweep's results as a Markdown table and a LaTeX (booktabs) table; print the Markdown."""
    from pimsim.results.report import report

    paths, markdown = report(results, metrics, where, digits, output)
    click.echo(markdown.rstrip())
    click.echo(f"\nwritten: {', '.join(str(p) for p in paths)}")
