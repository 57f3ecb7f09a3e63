"""The operator record: what one operator of a transformer forward pass is.

An operator is one unit of work a placement can send to a device: a matrix
product, an attention step over the KV cache, an element-wise pass, a
collective. Its record names its shape, the bit widths of its operands, the
bytes it moves and the floating-point operations it performs, and the ids of
the operators it waits for.

Conventions, shared by the generator, the file formats and the extraction:

* ``m, n, k`` are the operand shape of a product ``(m x k) @ (k x n)``; for an
  element-wise operator ``m`` is rows (tokens) and ``n`` the row length.
* ``heads, head_dim, batch, seq`` describe attention: ``batch`` sequences,
  ``seq`` keys attended per sequence (past context plus new tokens).
* ``shards`` is the tensor-parallel degree the operator is split over. Shapes,
  bytes and FLOPs describe *one* shard; the operator runs on each of the
  ``shards`` devices at once, so whole-model totals multiply by ``shards``.
* ``bytes_read`` includes ``weight_bytes`` (the part that is model weights,
  resident and reused by every step); the KV cache is read by ``kv_read`` and
  written by ``kv_write`` operators only.
* ``deps`` are ids of operators that must finish first.
"""

from __future__ import annotations

import dataclasses

import numpy as np

SCHEMA_VERSION = 1

KINDS = ("gemm", "gemv", "attention_score", "softmax", "attention_context", "kv_read",
         "kv_write", "norm", "activation", "rope", "embedding", "moe_router", "expert_ffn",
         "allreduce", "send", "recv")
PHASES = ("prefill", "decode", "draft", "verify")
KIND_CODE = {name: code for code, name in enumerate(KINDS)}
PHASE_CODE = {name: code for code, name in enumerate(PHASES)}

# Numeric columns in file order: (name, numpy dtype, description).
NUMERIC_COLUMNS = (
    ("id", np.int64, "unique operator id; dependencies refer to it"),
    ("step", np.int32, "forward pass the operator belongs to (0, 1, ...)"),
    ("layer", np.int32, "decoder layer, or -1 outside the layers (embedding, lm_head)"),
    ("m", np.int64, "rows of the left operand (tokens)"),
    ("n", np.int64, "columns of the result"),
    ("k", np.int64, "reduction length"),
    ("heads", np.int32, "attention heads (query heads; KV heads for kv_read/kv_write)"),
    ("head_dim", np.int32, "elements per attention head"),
    ("batch", np.int32, "sequences in the operator"),
    ("seq", np.int64, "keys attended per sequence"),
    ("shards", np.int16, "tensor-parallel shards, each running this operator"),
    ("weight_bits", np.int8, "bits per weight element"),
    ("activation_bits", np.int8, "bits per activation element"),
    ("kv_bits", np.int8, "bits per KV-cache element"),
    ("bytes_read", np.int64, "bytes read by one shard, weights included"),
    ("bytes_written", np.int64, "bytes written by one shard"),
    ("weight_bytes", np.int64, "part of bytes_read that is model weights"),
    ("flops", np.int64, "floating-point operations of one shard (a multiply-add is 2)"),
)
NUMERIC_NAMES = tuple(name for name, _, _ in NUMERIC_COLUMNS)
NUMERIC_DTYPES = {name: dtype for name, dtype, _ in NUMERIC_COLUMNS}
# Text columns stored as small integer codes in memory and in HDF5.
CODED_COLUMNS = ("phase", "kind", "name")
FIELD_ORDER = ("id", "step", "layer", "phase", "kind", "name") + NUMERIC_NAMES[3:] + ("deps",)


@dataclasses.dataclass(frozen=True)
class OpRecord:
    """One operator, as plain Python values (a row of an :class:`~pimsim.trace.table.OpTable`)."""

    id: int
    step: int
    layer: int
    phase: str
    kind: str
    name: str
    m: int
    n: int
    k: int
    heads: int
    head_dim: int
    batch: int
    seq: int
    shards: int
    weight_bits: int
    activation_bits: int
    kv_bits: int
    bytes_read: int
    bytes_written: int
    weight_bytes: int
    flops: int
    deps: tuple[int, ...] = ()

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved (read plus written); 0 for an operator that moves nothing."""
        moved = self.bytes_read + self.bytes_written
        return self.flops / moved if moved else 0.0
