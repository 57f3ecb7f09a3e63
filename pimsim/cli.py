"""The ``pimsim`` command line. Each command parses its options and calls one function.

Bad input never produces a traceback: every :class:`PimsimError` is printed as
one line, ``error: <where>: <what>``, and the exit status is 1.
"""

from __future__ import annotations

import functools
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
from pimsim.trace.cli import trace_cmd  # noqa: E402
main.add_command(trace_cmd)
