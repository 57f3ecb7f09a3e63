"""Plans: the sequence of forward passes a scenario makes, before any operator exists.

A :class:`Pass` is one forward pass of one model over a batch: its attention
:class:`Group` s (sequences with the same number of new tokens and the same
context) and how many tokens need logits. A :class:`Segment` repeats a fixed
list of passes ``repeats`` times with only the context lengths changing, which
is what lets the generator build millions of per-step operators as arrays.
Context lengths are arrays of shape ``(repeats,)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from pimsim.trace.model import ModelConfig
from pimsim.trace.scenario import Scenario


@dataclasses.dataclass(frozen=True)
class Group:
    """Sequences attending alike: ``requests`` of them, each adding ``query_tokens`` to its context."""

    requests: int
    query_tokens: int
    context_tokens: np.ndarray  # keys attended per sequence (past + new), one value per repeat

    @property
    def phase(self) -> str:
        return "prefill" if self.query_tokens > 1 else "decode"


@dataclasses.dataclass(frozen=True)
class Pass:
    """One forward pass of ``model``; ``logits_tokens`` 0 means no lm_head (a prefill chunk)."""

    model: ModelConfig
    phase: str
    groups: tuple[Group, ...]
    logits_tokens: int

    @property
    def tokens(self) -> int:
        return sum(g.requests * g.query_tokens for g in self.groups)


@dataclasses.dataclass(frozen=True)
class Segment:
    """``passes`` run in order, the whole list ``repeats`` times."""

    repeats: int
    passes: tuple[Pass, ...]


def plan(model: ModelConfig, scenario: Scenario, draft: ModelConfig | None = None) -> list[Segment]:
    """The passes of ``scenario``: prefill and/or decode, speculative rounds, or a request mix."""
    if scenario.requests:
        from pimsim.trace.batching import plan_request_mix

        return plan_request_mix(model, scenario)
    segments = []
    if scenario.phase in ("prefill", "both"):
        segments += plan_prefill(model, scenario, draft)
    if scenario.phase in ("decode", "both"):
        steps = scenario.output_tokens - 1 if scenario.phase == "both" else scenario.output_tokens
        if steps > 0 and draft is not None:
            segments.append(plan_speculative(model, draft, scenario, steps))
        elif steps > 0:
            segments.append(plan_decode(model, scenario, steps))
    return segments


def _one(value: int) -> np.ndarray:
    return np.array([value], dtype=np.int64)


def plan_prefill(model: ModelConfig, scenario: Scenario, draft: ModelConfig | None) -> list[Segment]:
    """Prompt passes (chunked if asked); the last one computes the first token's logits."""
    prompt, batch = scenario.prompt_tokens, scenario.batch
    chunk = scenario.prefill_chunk_tokens or prompt
    segments = []
    for start in range(0, prompt, chunk):
        q = min(chunk, prompt - start)
        logits = batch if start + q == prompt else 0
        groups = (Group(batch, q, _one(start + q)),)
        passes = [Pass(model, "prefill", groups, logits)]
        if draft is not None:
            passes.append(Pass(draft, "draft", groups, logits))
        segments.append(Segment(1, tuple(passes)))
    return segments


def plan_decode(model: ModelConfig, scenario: Scenario, steps: int) -> Segment:
    """``steps`` decode passes of one new token per sequence, the context growing by one each."""
    context = scenario.decode_start_tokens + 1 + np.arange(steps, dtype=np.int64)
    group = Group(scenario.batch, 1, context)
    return Segment(steps, (Pass(model, "decode", (group,), scenario.batch),))


def plan_speculative(model: ModelConfig, draft: ModelConfig, scenario: Scenario, tokens: int) -> Segment:
    """Rounds of k draft passes and one verify pass of k + 1 tokens, until ``tokens`` are produced.

    Each round advances the sequence by the expected accepted tokens
    (1 - a^(k+1)) / (1 - a); the context is the floor of that running total.
    """
    spec, batch = scenario.speculative, scenario.batch
    k, per_round = spec.tokens, spec.expected_tokens_per_round
    rounds = speculative_rounds(tokens, per_round)
    produced = np.floor(np.arange(rounds) * per_round + 1e-9).astype(np.int64)
    past = scenario.decode_start_tokens + produced
    passes = [Pass(draft, "draft", (Group(batch, 1, past + 1 + j),), batch) for j in range(k)]
    passes.append(Pass(model, "verify", (Group(batch, k + 1, past + k + 1),), batch * (k + 1)))
    return Segment(rounds, tuple(passes))


def speculative_rounds(tokens: int, per_round: float) -> int:
    """Verify rounds needed to produce ``tokens`` tokens at ``per_round`` expected tokens each."""
    return max(1, math.ceil(tokens / per_round - 1e-9))
