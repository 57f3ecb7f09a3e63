"""Argument handling of ``pimsim compare`` (kept out of cli.py so that it stays one call per command)."""

from __future__ import annotations

import json
import time

import click

from pimsim.core.errors import ConfigError
from pimsim.experiments.compare import CompareJob, compare, detail_text, records_json, table_text, write_outputs


def _pairs(items, what: str) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{what} expects NAME=VALUE, got '{item}'")
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def _options(items) -> dict:
    import yaml

    out: dict = {}
    for key, value in _pairs(items, "--option").items():
        placement, _, name = key.partition(".")
        if not name:
            raise ConfigError(f"--option expects PLACEMENT.KEY=VALUE, got '{key}={value}'")
        out.setdefault(placement, {})[name] = yaml.safe_load(value)
    return out


def _sets(items) -> dict:
    """``--set PLACEMENT.KEY.PATH=VALUE``: overrides of one placement's system, as ``--set`` elsewhere."""
    out: dict = {}
    for item in items:
        placement, _, rest = item.partition(".")
        if "=" not in rest or not rest.partition("=")[0].strip():
            raise ConfigError(f"--set expects PLACEMENT.KEY.PATH=VALUE (e.g. cent.devices.pim.count=8), "
                              f"got '{item}'")
        out.setdefault(placement.strip(), []).append(rest.strip())
    return out


def _batch(text: str) -> int:
    if text == "max":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"--batch takes a positive integer or 'max', got '{text}'") from None
    if value < 1:
        raise ConfigError(f"--batch must be at least 1, got {value}")
    return value


def run_compare(model, placements, batch, context, output_len, systems=(), options=(), sets=(), samples=3,
                max_positions=None, as_json=False, output_dir="results", fidelity=None, precision="FP16",
                requests=None, rate=0.0, seed=0, timeline=False, detail=False) -> int:
    """Run, print and save a comparison; the exit status is 1 if any placement could not run."""
    names = tuple(p.strip() for p in placements.split(",") if p.strip())
    if not names:
        raise ConfigError("--placements is empty")
    for flag, given in (("--system", _pairs(systems, "--system")), ("--option", _options(options)),
                        ("--set", _sets(sets))):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ConfigError(f"{flag} names placement(s) {', '.join(unknown)} not in --placements "
                              f"({', '.join(names)})")
    from pimsim.trace.scenario import parse_precision

    parse_precision(precision, "--precision")
    mix = None
    if requests:
        from pimsim.experiments.serving import load_mix

        mix = load_mix(requests, rate, seed)
        if batch is None and mix.batch:
            batch = str(mix.batch)
    elif rate:
        raise ConfigError("--rate applies to a request mix: give --requests FILE")
    if timeline and mix is not None:
        raise ConfigError("--timeline records a decode step of a uniform batch; it does not apply to --requests")
    job = CompareJob(model=model, placements=names, batch=_batch(batch or "64"), context=context,
                     output_len=output_len, systems=_pairs(systems, "--system"), options=_options(options),
                     sets=_sets(sets), precision=precision,
                     samples=samples, max_positions=max_positions, fidelity=fidelity, mix=mix, timeline=timeline)
    start = time.process_time()
    progress = None if as_json else (lambda message: click.echo(message, err=True))
    outcomes = compare(job, progress)
    if as_json:
        click.echo(json.dumps(records_json(outcomes), indent=2))
    else:
        click.echo(table_text(outcomes))
        if detail:
            for o in outcomes:
                if o.record is not None and "breakdown" in o.record:
                    click.echo(detail_text(o.record))
        click.echo(f"({time.process_time() - start:.1f} CPU-s"
                   f"{'' if mix or detail else '; ratios against the first placement'})", err=True)
    if output_dir != "-":
        paths = write_outputs(outcomes, output_dir, job.stem)
        if not as_json:
            click.echo("wrote " + ", ".join(str(p) for p in paths), err=True)
    failed = [o for o in outcomes if o.record is None]
    for o in failed:
        click.echo(f"error: {o.placement}: {o.error}", err=True)
    return 1 if failed else 0
