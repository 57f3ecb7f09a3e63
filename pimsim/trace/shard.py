"""Per-shard sizes of a model under tensor parallelism, and the byte and FLOP conventions.

Megatron-style tensor parallelism over ``tp`` devices: attention heads and the
MLP (or each expert's) inner width are split ``tp`` ways (column-parallel QKV
and up projections, row-parallel output and down projections, one all-reduce
after each), the lm_head is split over the vocabulary, norms are replicated.
With fewer KV heads than shards, each shard keeps one KV head (replicated).
"""

from __future__ import annotations

import dataclasses

from pimsim.core.errors import ConfigError
from pimsim.trace.model import ModelConfig, mlp_parameters, norm_parameters

# Floating-point operations per element of the element-wise operators: counted
# as the arithmetic of a straightforward kernel (a multiply-add is 2).
NORM_FLOPS = {"rmsnorm": 4, "layernorm": 7}       # square, sum, scale, gamma (+ mean, shift for LayerNorm)
SOFTMAX_FLOPS = 5                                  # max, subtract, exp, sum, divide
ROPE_FLOPS = 3                                     # x * cos + rotate(x) * sin
ACTIVATION_FLOPS = {"silu": 4, "swish": 4, "gelu": 8, "relu": 1}  # per output; gated adds 1 multiply
ROUTER_FLOPS = 5                                   # softmax and top-k per router logit


def nbytes(elements, bits):
    """Bytes of ``elements`` values of ``bits`` bits each, rounded up (works on numpy arrays)."""
    return (elements * bits + 7) // 8


@dataclasses.dataclass(frozen=True)
class Shard:
    """The widths one tensor-parallel shard of ``model`` works on."""

    model: ModelConfig
    tp: int
    q_heads: int
    kv_heads: int
    inter: int
    vocab: int

    @property
    def head_dim(self) -> int:
        return self.model.head_size

    @property
    def hidden(self) -> int:
        return self.model.hidden_size

    @property
    def mlp_weights(self) -> int:
        """Weights of this shard's part of one MLP (or one expert)."""
        return (mlp_parameters(self.model) + self.tp - 1) // self.tp

    @property
    def norm_weights(self) -> int:
        return norm_parameters(self.model)


def shard_of(model: ModelConfig, tp: int) -> Shard:
    """Split ``model`` over ``tp`` shards, or raise ConfigError naming tensor_parallel."""
    heads, kv, inter = model.num_attention_heads, model.kv_heads, model.intermediate_size
    if heads % tp or inter % tp or (kv % tp and tp % kv):
        raise ConfigError(f"{tp} shards do not split {model.name}'s {heads} heads, {kv} KV heads and "
                          f"intermediate_size {inter} evenly", "tensor_parallel")
    return Shard(model, tp, heads // tp, max(1, kv // tp), inter // tp, -(-model.vocab_size // tp))
