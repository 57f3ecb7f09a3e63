"""``pimsim sweep``: the command; it parses options and calls :func:`pimsim.experiments.driver.run_sweep`."""

from __future__ import annotations

import click

from pimsim.core.errors import SimulationError


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.yaml")
@click.option("-o", "--output", metavar="RESULTS.h5",
              help="Results file (default: results/<sweep name>.h5). Rerun with the same file to resume.")
@click.option("--scheduler", metavar="ADDRESS", help="Run on the Dask cluster at this scheduler, e.g. tcp://host:8786.")
@click.option("--workers", type=int, metavar="N", help="Local cluster size (default: one worker per core).")
@click.option("--serial", is_flag=True, help="Run the points one by one in this process (no Dask; for debugging).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--checkpoint-every", "checkpoint_every_s", type=click.FloatRange(min=0.0), default=10.0,
              show_default=True, metavar="SECONDS",
              help="How often finished points are merged from the journal into the results file.")
@click.option("--dry-run", is_flag=True, help="Check the sweep and print how many points would run; run none.")
def sweep_cmd(sweep_file, output, scheduler, workers, serial, progress, checkpoint_every_s, dry_run):
    """Run every point of SWEEP.yaml (a grid or zipped lists over config paths) and store the results.

    Example: pimsim sweep examples/sweeps/decode_intensity.yaml -o results/decode.h5
    """
    from pimsim.experiments.driver import plan_text, run_sweep

    if dry_run:
        click.echo(plan_text(sweep_file, output))
        return
    summary = run_sweep(sweep_file, output, scheduler, workers, serial, progress, checkpoint_every_s)
    click.echo(summary.text())
    if summary.failed:
        raise SimulationError(f"{summary.failed} of {summary.points} points failed (first: {summary.first_error}); "
                              "they are recorded in the results file and retried when the sweep is run again")
