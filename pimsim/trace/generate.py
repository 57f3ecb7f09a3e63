"""The analytic generator: a model and a scenario in, an operator trace out.

``generate(model, scenario)`` plans the passes (:mod:`pimsim.trace.plan`),
writes each pass's operators as formulas (:mod:`pimsim.trace.ops`) and lays
them out as columns (:mod:`pimsim.trace.assemble`). MoE routing draws from one
generator seeded by the scenario, so the same inputs give the same trace.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from pimsim import __version__
from pimsim.core.errors import ConfigError
from pimsim.trace.assemble import Layout
from pimsim.trace.model import ModelConfig, load_model
from pimsim.trace.ops import pass_ops
from pimsim.trace.plan import Pass, plan
from pimsim.trace.routing import expert_counts
from pimsim.trace.scenario import Scenario
from pimsim.trace.shard import Shard, shard_of
from pimsim.trace.table import OpTable


def generate(model: ModelConfig | str, scenario: Scenario | None = None) -> OpTable:
    """The operator trace of ``scenario`` (default: one request, 512 + 128 tokens) on ``model``."""
    model = load_model(model) if isinstance(model, str) else model
    scenario = scenario or Scenario()
    draft = load_model(scenario.speculative.draft) if scenario.speculative else None
    _check_fits(model, scenario, draft)
    shards = {m.name: shard_of(m, scenario.tensor_parallel) for m in filter(None, (model, draft))}
    rng = np.random.default_rng(scenario.routing.seed)
    layout = Layout()
    for segment in plan(model, scenario, draft):
        passes = [_laid_out_pass(p, shards[p.model.name], scenario, rng, segment.repeats)
                  for p in segment.passes]
        layout.add_segment(segment.repeats, passes)
    columns, dep_ptr, dep_ids, names = layout.finish()
    return OpTable(columns, dep_ptr, dep_ids, names, trace_meta(model, scenario, draft))


def _laid_out_pass(p: Pass, shard: Shard, scenario: Scenario, rng, repeats: int):
    bits = scenario.bits
    counts = None
    if p.model.is_moe:
        counts = expert_counts(scenario.routing, rng, repeats, p.model.num_hidden_layers, p.tokens,
                               p.model.num_local_experts, p.model.num_experts_per_tok)
    defaults = dict(weight_bits=bits.weight_bits, activation_bits=bits.activation_bits,
                    kv_bits=bits.kv_bits, shards=shard.tp)
    return pass_ops(p, shard, bits, counts), defaults


def _check_fits(model: ModelConfig, scenario: Scenario, draft: ModelConfig | None) -> None:
    """The longest context must fit the model's positions (a sliding window removes the limit)."""
    longest = scenario.longest_sequence_tokens
    extra = scenario.speculative.tokens if scenario.speculative else 0
    for m in filter(None, (model, draft)):
        if not m.sliding_window and longest + extra > m.max_position_embeddings:
            raise ConfigError(f"{longest + extra} tokens exceed {m.name}'s max_position_embeddings "
                              f"({m.max_position_embeddings})", "scenario: output_tokens")
    if draft is not None and draft.vocab_size != model.vocab_size:
        raise ConfigError(f"draft {draft.name} has vocab_size {draft.vocab_size}, target {model.name} has "
                          f"{model.vocab_size}; a draft must share the tokenizer", "speculative.draft")


def trace_meta(model: ModelConfig, scenario: Scenario, draft: ModelConfig | None) -> dict:
    """The header of a generated trace: the model, the scenario, the draft model and the generator."""
    meta = {"model": json.loads(json.dumps(dataclasses.asdict(model))), "scenario": scenario.as_dict(),
            "generator": f"pimsim {__version__} analytic"}
    if draft is not None:
        meta["draft_model"] = json.loads(json.dumps(dataclasses.asdict(draft)))
    return meta
