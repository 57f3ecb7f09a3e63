"""The operators of one forward pass, as formulas over shapes: the analytic generator's core.

For a :class:`~pimsim.trace.plan.Pass` this module lists, once, the operators
before the layers (embedding), of one decoder layer (a template repeated
``num_hidden_layers`` times) and after them (final norm, lm_head). Values are
Python ints or numpy arrays that broadcast to ``(repeats, layers)``: context
lengths vary with the repeat, MoE expert loads with the repeat and the layer.

Modelling choices (see also :mod:`pimsim.trace.shard`):

* attention is unfused, as eager PyTorch runs it: scores are written, read by
  softmax, and the probabilities read by the context product; the full
  ``query x context`` rectangle is computed (a causal kernel skips about half
  of it in prefill);
* the KV cache is read once per layer by ``kv_read`` (keys and values of every
  attended position, new ones included, after ``kv_write`` stored them);
* residual additions are folded into the norms; biases are counted where the
  family has them; quantised weights are counted at their bit width without
  scale overhead.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pimsim.trace.plan import Group, Pass
from pimsim.trace.scenario import Precision
from pimsim.trace.shard import ACTIVATION_FLOPS, NORM_FLOPS, ROPE_FLOPS, ROUTER_FLOPS, SOFTMAX_FLOPS, Shard, nbytes

ENTRY = -1  # a dependency on whatever precedes the list (previous layer's exits, previous pass)


@dataclasses.dataclass
class OpSpec:
    """One operator of a pass before it is laid out: kind, name, phase, column values, local deps."""

    kind: str
    name: str
    phase: str
    values: dict
    deps: tuple[int, ...]


@dataclasses.dataclass
class PassOps:
    """The operators of one pass: before the layers, one layer's template, after the layers."""

    pre: list[OpSpec]
    layer: list[OpSpec]
    exits: list[int]          # template indices the next layer (or the final norm) waits for
    post: list[OpSpec]
    layers: int


class _Ops(list):
    """A list of OpSpecs whose ``add`` returns the new operator's index."""

    def add(self, kind, name, phase, deps, **values) -> int:
        self.append(OpSpec(kind, name, phase, values, tuple(deps)))
        return len(self) - 1


def pass_ops(p: Pass, shard: Shard, bits: Precision, expert_tokens: np.ndarray | None) -> PassOps:
    """All operators of pass ``p``; ``expert_tokens[repeat, layer, expert]`` for MoE models."""
    layer = _Ops()
    last = _attention_ops(layer, p, shard, bits)
    if p.model.is_moe:
        exits = _moe_ops(layer, p, shard, bits, expert_tokens, last)
    else:
        exits = [_mlp_ops(layer, p, shard, bits, last)]
    return PassOps(_pre_ops(p, shard, bits), layer, exits, _post_ops(p, shard, bits), p.model.num_hidden_layers)


def _linear(ops: _Ops, name, phase, deps, m, n, k, shard: Shard, bits: Precision, bias: bool) -> int:
    """A weight product: (m x k) activations times a (k x n) weight matrix."""
    weights = nbytes(n * k + (n if bias else 0), bits.weight_bits)
    return ops.add("gemv" if np.all(np.asarray(m) == 1) else "gemm", name, phase, deps, m=m, n=n, k=k,
                   weight_bytes=weights, bytes_read=weights + nbytes(m * k, bits.activation_bits),
                   bytes_written=nbytes(m * n, bits.activation_bits),
                   flops=2 * m * n * k + (m * n if bias else 0))


def _norm(ops: _Ops, name, phase, deps, tokens, shard: Shard, bits: Precision) -> int:
    h, a = shard.hidden, bits.activation_bits
    weights = nbytes(shard.norm_weights, bits.weight_bits)
    return ops.add("norm", name, phase, deps, m=tokens, n=h, weight_bytes=weights,
                   bytes_read=weights + nbytes(tokens * h, a), bytes_written=nbytes(tokens * h, a),
                   flops=NORM_FLOPS[shard.model.architecture.norm] * tokens * h)


def _allreduce(ops: _Ops, name, phase, deps, tokens, shard: Shard, bits: Precision) -> int:
    """Ring all-reduce of the layer output: each shard sends and receives 2 (tp - 1) / tp of it."""
    volume = nbytes(tokens * shard.hidden, bits.activation_bits)
    moved = 2 * (shard.tp - 1) * volume // shard.tp
    return ops.add("allreduce", name, phase, deps, m=tokens, n=shard.hidden, bytes_read=moved,
                   bytes_written=moved, flops=(shard.tp - 1) * tokens * shard.hidden // shard.tp)


def _attention_ops(ops: _Ops, p: Pass, shard: Shard, bits: Precision) -> int:
    """Norm, QKV, RoPE, KV write, per-group attention, output projection (and all-reduce)."""
    t, hd, a, bias = p.tokens, shard.head_dim, bits.activation_bits, shard.model.architecture.bias
    norm = _norm(ops, "attn.norm", p.phase, [ENTRY], t, shard, bits)
    qkv_width = (shard.q_heads + 2 * shard.kv_heads) * hd
    last = _linear(ops, "attn.qkv", p.phase, [norm], t, qkv_width, shard.hidden, shard, bits, bias)
    if shard.model.architecture.positions == "rope":
        rotated = t * (shard.q_heads + shard.kv_heads) * hd
        last = ops.add("rope", "attn.rope", p.phase, [last], m=t, n=(shard.q_heads + shard.kv_heads) * hd,
                       heads=shard.q_heads + shard.kv_heads, head_dim=hd, bytes_read=nbytes(rotated, a),
                       bytes_written=nbytes(rotated, a), flops=ROPE_FLOPS * rotated)
    kv_new = t * 2 * shard.kv_heads * hd
    write = ops.add("kv_write", "attn.kv_write", p.phase, [last], m=t, n=2 * shard.kv_heads * hd,
                    heads=shard.kv_heads, head_dim=hd, batch=sum(g.requests for g in p.groups),
                    bytes_read=nbytes(kv_new, a), bytes_written=nbytes(kv_new, bits.kv_bits))
    contexts = [_group_ops(ops, p, g, shard, bits, last, write) for g in p.groups]
    out = _linear(ops, "attn.o_proj", p.phase, contexts, t, shard.hidden, shard.q_heads * hd, shard, bits,
                  bias)
    if shard.tp > 1:
        out = _allreduce(ops, "attn.allreduce", p.phase, [out], t, shard, bits)
    return out


def _group_ops(ops: _Ops, p: Pass, g: Group, shard: Shard, bits: Precision, query: int, write: int) -> int:
    """KV read, scores, softmax and context product for one attention group."""
    phase = g.phase if p.phase == "prefill" else p.phase
    ctx = g.context_tokens.reshape(-1, 1)
    if shard.model.sliding_window:
        ctx = np.minimum(ctx, shard.model.sliding_window)
    b, q, hd, heads, a = g.requests, g.query_tokens, shard.head_dim, shard.q_heads, bits.activation_bits
    shape = dict(heads=heads, head_dim=hd, batch=b, seq=ctx)
    read = ops.add("kv_read", "attn.kv_read", phase, [write], n=2 * shard.kv_heads * hd,
                   heads=shard.kv_heads, head_dim=hd, batch=b, seq=ctx,
                   bytes_read=nbytes(b * ctx * 2 * shard.kv_heads * hd, bits.kv_bits))
    scores = b * heads * q * ctx
    score = ops.add("attention_score", "attn.score", phase, [query, read], m=q, n=ctx, k=hd, **shape,
                    bytes_read=nbytes(b * heads * q * hd, a), bytes_written=nbytes(scores, a),
                    flops=2 * scores * hd)
    soft = ops.add("softmax", "attn.softmax", phase, [score], m=q, n=ctx, **shape,
                   bytes_read=nbytes(scores, a), bytes_written=nbytes(scores, a), flops=SOFTMAX_FLOPS * scores)
    return ops.add("attention_context", "attn.context", phase, [soft, read], m=q, n=hd, k=ctx, **shape,
                   bytes_read=nbytes(scores, a), bytes_written=nbytes(b * heads * q * hd, a),
                   flops=2 * scores * hd)


def _activation_flops(shard: Shard) -> int:
    gated = shard.model.architecture.gated_mlp
    return ACTIVATION_FLOPS.get(shard.model.hidden_act, 4) + (1 if gated else 0)


def _mlp_ops(ops: _Ops, p: Pass, shard: Shard, bits: Precision, last: int) -> int:
    """Norm, up (gate and up) projection, activation, down projection (and all-reduce)."""
    t, i, a = p.tokens, shard.inter, bits.activation_bits
    gated, bias = shard.model.architecture.gated_mlp, shard.model.architecture.bias
    norm = _norm(ops, "mlp.norm", p.phase, [last], t, shard, bits)
    up = _linear(ops, "mlp.gate_up" if gated else "mlp.up", p.phase, [norm], t, (2 if gated else 1) * i,
                 shard.hidden, shard, bits, bias)
    act = ops.add("activation", "mlp.act", p.phase, [up], m=t, n=i,
                  bytes_read=nbytes((2 if gated else 1) * t * i, a), bytes_written=nbytes(t * i, a),
                  flops=_activation_flops(shard) * t * i)
    down = _linear(ops, "mlp.down", p.phase, [act], t, shard.hidden, i, shard, bits, bias)
    if shard.tp > 1:
        down = _allreduce(ops, "mlp.allreduce", p.phase, [down], t, shard, bits)
    return down


def _moe_ops(ops: _Ops, p: Pass, shard: Shard, bits: Precision, expert_tokens, last: int) -> list[int]:
    """Norm, router, one expert_ffn per expert (dropped later when it gets no token), all-reduce."""
    t, h, i, a, e = p.tokens, shard.hidden, shard.inter, bits.activation_bits, shard.model.num_local_experts
    norm = _norm(ops, "mlp.norm", p.phase, [last], t, shard, bits)
    weights = nbytes(e * h, bits.weight_bits)
    router = ops.add("moe_router", "moe.router", p.phase, [norm], m=t, n=e, k=h, weight_bytes=weights,
                     bytes_read=weights + nbytes(t * h, a), bytes_written=nbytes(t * e, a),
                     flops=2 * t * e * h + ROUTER_FLOPS * t * e)
    per_token = 2 * shard.mlp_weights + _activation_flops(shard) * i + 2 * h  # matmuls, activation, combine
    experts = []
    for x in range(e):
        m = expert_tokens[:, :, x]
        expert_weights = np.where(m > 0, nbytes(shard.mlp_weights, bits.weight_bits), 0)
        experts.append(ops.add("expert_ffn", f"moe.expert{x}", p.phase, [router], m=m, n=i, k=h,
                               weight_bytes=expert_weights, bytes_read=expert_weights + nbytes(m * h, a),
                               bytes_written=nbytes(m * h, a), flops=per_token * m))
    if shard.tp > 1:
        return [_allreduce(ops, "moe.allreduce", p.phase, experts, t, shard, bits)]
    return experts


def _pre_ops(p: Pass, shard: Shard, bits: Precision) -> list[OpSpec]:
    """Token embedding lookup (plus learned positions): reads one table row per token and table."""
    ops, t, h = _Ops(), p.tokens, shard.hidden
    tables = 2 if shard.model.architecture.positions == "learned" else 1
    weights = nbytes(tables * t * h, bits.weight_bits)
    ops.add("embedding", "embed", p.phase, [ENTRY], m=t, n=h, shards=1, weight_bytes=weights,
            bytes_read=weights + 4 * t, bytes_written=nbytes(t * h, bits.activation_bits),
            flops=(tables - 1) * t * h)
    return ops


def _post_ops(p: Pass, shard: Shard, bits: Precision) -> list[OpSpec]:
    """Final norm and the lm_head product for the tokens that need logits (none: no operators)."""
    ops = _Ops()
    if p.logits_tokens:
        norm = _norm(ops, "final_norm", p.phase, [ENTRY], p.tokens, shard, bits)
        _linear(ops, "lm_head", p.phase, [norm], p.logits_tokens, shard.vocab, shard.hidden, shard, bits, False)
    return ops
