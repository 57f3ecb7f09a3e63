"""Continuous batching: iteration-level scheduling of a request mix.

Requests wait in a queue (the mix, in a seeded random order). Before each
pass, waiting requests are admitted while fewer than ``scenario.batch`` are
running; a request admitted now has its whole prompt prefilled in this pass,
alongside one decode token for every request already running (as in Orca and
vLLM); such a pass is labelled ``prefill``, the attention operators of its
decode groups ``decode``. A request leaves after its last token. Stretches of passes in which no
request arrives or leaves differ only in context length, so each becomes one
:class:`~pimsim.trace.plan.Segment`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from pimsim.trace.model import ModelConfig
from pimsim.trace.plan import Group, Pass, Segment
from pimsim.trace.scenario import Scenario


@dataclasses.dataclass
class _Running:
    """A request in flight: tokens in its cache and tokens still to generate."""

    context_tokens: int
    remaining_tokens: int


def request_queue(scenario: Scenario) -> list[tuple[int, int]]:
    """(prompt_tokens, output_tokens) of every request, in seeded admission order."""
    queue = [(c.prompt_tokens, c.output_tokens) for c in scenario.requests for _ in range(c.count)]
    order = np.random.default_rng(scenario.request_seed).permutation(len(queue))
    return [queue[i] for i in order]


def plan_request_mix(model: ModelConfig, scenario: Scenario) -> list[Segment]:
    """Segments of passes serving the whole mix, at most ``scenario.batch`` requests at once."""
    queue, running, segments = request_queue(scenario), [], []
    while queue or running:
        if queue and len(running) < scenario.batch:
            admitted = [queue.pop(0) for _ in range(min(scenario.batch - len(running), len(queue)))]
            segments.append(_admission_pass(model, running, admitted))
            running += [_Running(p, o - 1) for p, o in admitted]
        else:
            segments.append(_decode_stretch(model, running))
        running = [r for r in running if r.remaining_tokens > 0]
    return segments


def _admission_pass(model: ModelConfig, running: list[_Running], admitted) -> Segment:
    """Prefill the admitted prompts and decode one token for each running request."""
    groups = [Group(n, p, np.array([p])) for p, n in sorted(Counter(p for p, _ in admitted).items())]
    groups += _decode_groups(running, 1)
    for r in running:
        r.context_tokens += 1
        r.remaining_tokens -= 1
    return Segment(1, (Pass(model, "prefill", tuple(groups), len(running) + len(admitted)),))


def _decode_stretch(model: ModelConfig, running: list[_Running]) -> Segment:
    """Decode passes until the first running request finishes (nothing can be admitted before)."""
    steps = min(r.remaining_tokens for r in running)
    groups = _decode_groups(running, steps)
    for r in running:
        r.context_tokens += steps
        r.remaining_tokens -= steps
    return Segment(steps, (Pass(model, "decode", tuple(groups), len(running)),))


def _decode_groups(running: list[_Running], steps: int) -> list[Group]:
    """One group per distinct context; contexts grow by one per step."""
    counts = Counter(r.context_tokens for r in running if r.remaining_tokens > 0)
    grow = np.arange(1, steps + 1, dtype=np.int64)
    return [Group(n, 1, c + grow) for c, n in sorted(counts.items())]
