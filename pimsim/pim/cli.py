"""The ``pimsim kernel`` command (registered at the end of :mod:`pimsim.cli`)."""

from __future__ import annotations

import json

import click

from pimsim.pim.report import KERNELS


@click.command("kernel")
@click.argument("kernel", type=click.Choice(KERNELS))
@click.option("--device", "-d", default="gddr6-aim-pim", show_default=True, help="PIM preset (kind: pim).")
@click.option("--shape", required=True,
              help="gemv: MxK (y[M] = W[MxK] x[K]); add/mul: N; attention/score/context: LxHxD "
                   "(tokens x heads x head dimension).")
@click.option("--channels", "-c", type=int, help="Channels to use (default: all of the device's).")
@click.option("--batch", type=int, default=1, show_default=True, help="Input vectors (gemv) or sequences.")
@click.option("--fidelity", type=click.Choice(["command", "tile"]),
              help="command (every command issued) or tile (closed form); default: the preset's fidelity (tile).")
@click.option("--refresh", type=click.Choice(["all-bank", "none"]), help="Refresh mode (default: the preset's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a field of the PIM preset.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def kernel_cmd(kernel, device, shape, channels, batch, fidelity, refresh, sets, as_json):
    """Run one PIM kernel at command or tile level: time, bandwidth, utilisation, energy."""
    from pimsim.pim.report import kernel_text, run_kernel

    result = run_kernel(kernel, device, shape, channels, fidelity, batch, refresh, sets)
    click.echo(json.dumps(result, indent=2) if as_json else kernel_text(result))
