"""The ``pimsim`` command line. Each command parses its options and calls one function.

Bad input never produces a traceback: every :class:`PimsimError` is printed as
one line, ``error: <where>: <what>``, and the exit status is 1.
"""

from __future__ import annotations

import json
import sys

import click

from pimsim import __version__
from pimsim.core.errors import PimsimError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class PimsimGroup(click.Group):
    """A click group whose commands report PimsimError as one line and exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PimsimError as exc:
            _fail(exc.one_line())
        except KeyboardInterrupt:
            _fail("interrupted")
        except BrokenPipeError:
            sys.exit(0)


@click.group(cls=PimsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pimsim")
def main():
    """pimsim: where should LLM inference run? GPUs, NPUs, PIM and CXL memory, compared."""


def _emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False))


# -- list / show-config -------------------------------------------------------

@main.command("list")
@click.argument("what", required=False, type=click.Choice(["devices", "mappings", "workloads", "systems", "all"]),
                default="all")
def list_cmd(what):
    """List presets (devices, workloads, systems) and address mappings, with sources."""
    from pimsim.catalog import catalog_table

    click.echo(catalog_table(what))


@main.command("show-config")
@click.argument("name")
@click.option("--resolved", is_flag=True, help="Apply presets and overrides and print every derived field.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a field, e.g. timing_cycles.tRP=30.")
def show_config(name, resolved, sets):
    """Print the configuration of a device, workload or system preset (or a YAML file)."""
    from pimsim.catalog import show_config_text

    click.echo(show_config_text(name, resolved=resolved, sets=sets))
@main.command("replay")
@click.argument("trace", required=False, type=click.Path(dir_okay=False))
@click.option("--device", "-d", default="hbm3-6400", show_default=True, help="DRAM preset name or YAML file.")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "loadstore", "readwrite", "vector", "pimsim", "aim"]),
              help="Trace format (Ramulator LoadStoreTrace/ReadWriteTrace, address vectors, pimsim's, or AiM "
                   "instructions as CENT writes them, run on a GDDR6-AiM PIM preset).")
@click.option("--mapping", help="Address mapping (RoBaRaCoCh, RoCoBaRaCh, ChRaBaRoCo, MOP4CLXOR).")
@click.option("--refresh", type=click.Choice(["all-bank", "none"]), help="Refresh mode (default: the preset's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a preset field.")
@click.option("--width", type=int, help="Requests the frontend offers per cycle (default: until one is refused).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the result to FILE.csv or FILE.json.")
def replay_cmd(trace, device, fmt, mapping, refresh, sets, width, as_json, output):
    """Replay a memory trace on a DRAM device at command level (default: a built-in sample on HBM3)."""
    from pimsim.dram.replay import replay, summary_text, write_result

    result = replay(trace, device, fmt, mapping, refresh, sets, width)
    if output:
        write_result(result, output)
    click.echo(json.dumps(result, indent=2) if as_json else summary_text(result))


#: options ``compare`` and ``run`` share (one workload, its systems, options, precision, outputs)
_SCENARIO_OPTIONS = [
    click.option("--model", "-m", default="llama2-70b", show_default=True, help="Workload preset or HF config.json."),
    click.option("--batch", "-b", default=None, help="Batch size (the most requests at once with --requests), or "
                 "'max' (largest that fits).  [default: 64, or the --requests file's]"),
    click.option("--context", "-c", default=4096, show_default=True, type=int,
                 help="Context length at the end: prompt + generated tokens."),
    click.option("--output-len", "-n", default=128, show_default=True, type=int, help="Tokens generated per request."),
    click.option("--system", "systems", multiple=True, metavar="PLACEMENT=SYSTEM",
                 help="Run a placement on another system preset (e.g. gpu=dgx-a100-hbm3)."),
    click.option("--option", "options", multiple=True, metavar="PLACEMENT.KEY=VALUE", help="A placement option."),
    click.option("--set", "sets", multiple=True, metavar="PLACEMENT.KEY.PATH=VALUE",
                 help="Override a field of a placement's system (e.g. cent.devices.pim.count=8)."),
    click.option("--samples", default=3, show_default=True, type=int, help="Decode steps simulated (then averaged)."),
    click.option("--max-positions", type=int, help="Let the model attend more tokens than its config allows."),
    click.option("--fidelity", type=click.Choice(["tile", "command"]),
                 help="PIM kernels at tile level (closed form) or command level (every command simulated; slow). "
                 "[default: each PIM preset's, tile]"),
    click.option("--precision", default="FP16", show_default=True,
                 help="Bits of weights, activations and KV cache, e.g. W4A16, W8A8KV8 (PIM units take 16-bit "
                 "operands)."),
    click.option("--requests", type=click.Path(dir_okay=False),
                 help="Serve a request mix (scenario YAML with requests:, or CSV prompt_tokens,output_tokens"
                 "[,arrival_s]) by continuous batching: latency percentiles instead of one batch."),
    click.option("--rate", type=float, default=0.0, help="With --requests: Poisson arrivals, requests/s "
                 "(default: all at time 0)."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --rate arrivals."),
    click.option("--timeline", is_flag=True, help="Also write each placement's last decode step as a Chrome trace "
                 "(chrome://tracing, Perfetto)."),
    click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per placement."),
    click.option("-o", "--output-dir", default="results", show_default=True, type=click.Path(file_okay=False),
                 help="Where the CSV, HDF5 and PNG go ('-' for nowhere)."),
]


def _scenario_options(command):
    for option in reversed(_SCENARIO_OPTIONS):
        command = option(command)
    return command


@main.command("compare")
@click.option("--placements", "-p", default="gpu,attacc,neupim,cent", show_default=True,
              help="Comma-separated placements (gpu, attacc, npu, npu+pim, neupim, cent, upmem, cxl-tiered).")
@_scenario_options
def compare_cmd(**kwargs):
    """Compare placements of one workload: throughput, latency, energy (default: Llama-2-70B on 4 designs)."""
    from pimsim.experiments.compare_cli import run_compare

    sys.exit(run_compare(**kwargs))


@main.command("run")
@click.argument("placement")
@_scenario_options
def run_cmd(placement, systems, options, sets, **kwargs):
    """Run one workload on one PLACEMENT and print where its time, energy and bytes go.

    Options as for ``compare``; the placement prefix of --system, --option and --set may be left out
    (``--system my-cent.yaml``, ``--option mapping=hybrid``, ``--set devices.pim.count=16``).
    """
    from pimsim.experiments.compare_cli import run_compare

    def own(items, sep):
        return tuple(i if i.startswith(placement + sep) else f"{placement}{sep}{i}" for i in items)
    sys.exit(run_compare(placements=placement, systems=own(systems, "="), options=own(options, "."),
                         sets=own(sets, "."), detail=True, **kwargs))


from pimsim.trace.cli import trace_cmd  # noqa: E402
main.add_command(trace_cmd)
from pimsim.system.draw import draw_cmd  # noqa: E402
main.add_command(draw_cmd)
from pimsim.experiments.cli import sweep_cmd  # noqa: E402
from pimsim.results.cli import export_cmd, plot_cmd, report_cmd  # noqa: E402
main.add_command(sweep_cmd)
main.add_command(export_cmd)
main.add_command(plot_cmd)
main.add_command(report_cmd)
from pimsim.pim.cli import kernel_cmd  # noqa: E402
main.add_command(kernel_cmd)
