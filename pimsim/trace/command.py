"""What ``pimsim trace`` does: build the scenario from options, generate, write and summarise."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

from pimsim.trace.files import trace_format, write_trace
from pimsim.trace.generate import generate
from pimsim.trace.model import load_model
from pimsim.trace.scenario import Scenario, build_scenario, load_scenario
from pimsim.trace.summary import GROUPINGS, summary_text

SPECULATIVE_DEFAULTS = {"tokens": 4, "acceptance_rate": 0.8}


def scenario_from_options(base: str | None, options: Mapping) -> Scenario:
    """A scenario preset (or the defaults) with the given command-line options applied on top.

    ``options`` holds Scenario fields, plus ``draft``, ``draft_tokens``,
    ``acceptance_rate``, ``routing`` and ``seed``; None means "not given".
    """
    scenario = load_scenario(base) if base else Scenario()
    data = dataclasses.asdict(scenario)
    given = {k: v for k, v in options.items() if v is not None}
    if "context_tokens" in given and not base:  # "decode at context C": one step unless told otherwise
        given.setdefault("phase", "decode")
        given.setdefault("output_tokens", 1)
    spec = {"draft": "draft", "draft_tokens": "tokens", "acceptance_rate": "acceptance_rate"}
    if any(k in given for k in spec):
        data["speculative"] = {**SPECULATIVE_DEFAULTS, **(data.get("speculative") or {}),
                               **{spec[k]: given.pop(k) for k in list(given) if k in spec}}
    if "routing" in given:
        data["routing"]["policy"] = given.pop("routing")
    if "seed" in given:
        data["routing"]["seed"] = given.pop("seed")
    data.update(given)
    return build_scenario(data, "options")


def trace_command(model: str, scenario_name: str | None, options: Mapping, output: str | None, summary: bool,
                  by: str = "kind") -> str:
    """``pimsim trace``: the scenario from its options, then :func:`run_trace`."""
    return run_trace(model, scenario_from_options(scenario_name, options), output, summary, by)


def run_trace(model: str, scenario: Scenario, output: str | None, summary: bool, by: str = "kind") -> str:
    """Generate the trace; write it to ``output`` if given; return the text to print."""
    if output:
        trace_format(Path(output))  # reject an unknown suffix before the work
    if by not in GROUPINGS:
        from pimsim.core.errors import ConfigError, did_you_mean

        raise ConfigError(f"cannot summarise by '{by}'{did_you_mean(by, GROUPINGS)}", "--by")
    table = generate(load_model(model), scenario)
    lines = []
    if output:
        path = write_trace(table, output)
        lines.append(f"wrote {len(table)} operators to {path}")
    if summary or not output:
        lines.append(summary_text(table, by))
    return "\n".join(lines)
