"""AttAcc: decode attention in HBM-PIM beside the GPUs (Park et al., ASPLOS 2024).

The GPUs (group ``gpu``, tensor parallel) keep the weights and run the QKV
and output projections, the FFN, norms and all-reduces; the AttAcc devices
(group ``attacc``, one per GPU, HBM3-PIM stacks) hold the KV cache and run the
decode attention: the score GEMV q.K^T, the softmax (in the stacks' buffer
dies) and the context GEMV s.V, reading the KV cache inside the memory. q, k, v
go from each GPU to its AttAcc device over NVLink and the context comes back.

Options, as the paper's (and its simulator's ``--pipeopt --ffopt``):

* ``head_groups``: the QKV projection, attention and output projection of a
  layer are cut into this many head groups and pipelined, so the GPU projects
  group g+1 (and reduces group g-1's output) while the PIM runs group g's
  attention. Default 4: AttAcc pipelines head by head and assumes the PIM keeps
  pace, but a group of one head spreads over too few of a stack's 16 channels to
  do so; four groups keep every channel busy at batch 16 and still hide 3/4 of
  the attention (0: one group per head of a shard; 1: no overlap);
* ``ffn_split``: ``balanced`` gives each FFN product's columns to the GPU and
  to the AttAcc device in proportion to their speeds, so both finish together
  (AttAcc runs part of the FFN GEMV in PIM); ``none`` leaves the FFN on the GPU.
  The PIM multiplies 16-bit operands only: quantised FFN weights stay on the GPU,
  and a KV cache of other than 16 bits is refused (the attention runs in PIM).

Prefill runs on the GPUs; its keys and values are written to the AttAcc devices.
Departures: AttAcc derives the overlap and FFN share analytically; here both
are simulated (head groups and split products as separate operators on their
devices, joined by their dependencies).
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError
from pimsim.placement.base import (
    Assignment,
    Placement,
    TensorPlacement,
    first,
    model_bytes,
    require_group,
)
from pimsim.placement.common import kind_names, phase_is
from pimsim.pim.spec import narrow_operand
from pimsim.placement.rewrite import Rewriter, split_columns, split_heads, split_rows

HEAD_OPS = ("rope", "kv_write", "attention_score", "softmax", "attention_context")


class AttAcc(Placement, kind="attacc"):
    paper = "Park et al., \"AttAcc!\", ASPLOS 2024"
    default_system = "dgx-attacc"
    description = "decode attention on HBM-PIM (AttAcc) holding the KV cache; projections and FFN on GPUs"

    @classmethod
    def options(cls) -> dict:
        return {"head_groups": 4, "ffn_split": "balanced"}

    def tensor_parallel(self, system_spec) -> int:
        for group in ("gpu", "attacc"):
            require_group(system_spec, group, self.kind)
        return system_spec.devices["gpu"].count

    def tensors(self, model, batch, context, system_spec, precision="FP16") -> list[TensorPlacement]:
        weights, kv = model_bytes(model, batch, context, precision)
        self.tensor_parallel(system_spec)
        return [TensorPlacement("weights", "gpu", weights), TensorPlacement("kv_cache", "attacc", kv)]

    def place(self, trace, system_spec) -> Assignment:
        if self.opts["ffn_split"] not in ("balanced", "none"):
            raise ConfigError(f"attacc option ffn_split must be 'balanced' or 'none', got {self.opts['ffn_split']!r}")
        gpu, pim = first(system_spec, "gpu"), first(system_spec, "attacc")
        tp = self.tensor_parallel(system_spec)
        kinds = kind_names(trace)
        rw = Rewriter(trace)
        if phase_is(trace, "prefill").all():              # prefill: all on the GPUs, KV written to AttAcc
            for i, kind in enumerate(kinds):
                rw.keep(i, "gpu" if kind == "allreduce" else (pim if kind == "kv_write" else gpu))
        else:
            self._decode(trace, kinds, rw, gpu, pim, system_spec)
        return Assignment(self.kind, tuple(rw.devices), (), streams=tuple(rw.streams), trace=rw.table(),
                          priorities=tuple(rw.priorities),
                          notes=(f"tensor parallel over {tp} GPUs, one AttAcc device each; gpu0 and {pim} simulated",
                                 "KV-cache reads happen inside the PIM attention kernels"),
                          replicas=(("gpu", tp), ("attacc", system_spec.devices["attacc"].count)))

    # -- decode -----------------------------------------------------------------
    def _share(self, rec, models) -> float:
        """:func:`balance` of ``rec``, remembered per shape (every layer has the same FFN)."""
        cache = self.__dict__.setdefault("_shares", {})
        key = (rec.m, rec.n, rec.k, rec.weight_bits, rec.activation_bits)
        if key not in cache:
            cache[key] = balance(rec, *models)
        return cache[key]

    def _groups(self, trace) -> int:
        heads = max((int(trace.record(i).heads) for i in range(min(len(trace), 64))), default=1)
        return max(1, min(self.opts["head_groups"] or heads, heads))

    def _decode(self, trace, kinds, rw: Rewriter, gpu: str, pim: str, system_spec) -> None:
        groups = self._groups(trace)
        balanced = self.opts["ffn_split"] == "balanced"
        models = (_Group(self.costs, "gpu"), _Group(self.costs, "attacc")) if balanced else None
        chain: list[int] = []
        block = 0                        # old id of the layer's QKV: head-group priorities count from it

        def prio(g: int, i: int) -> float:
            """Group-major order inside the attention block: group g's attention before group g+1's."""
            return block * 1000.0 + g * 50 + (i - block)

        for i, kind in enumerate(kinds):
            rec = trace.record(i)
            rw.current = i
            if kind == "kv_read":
                rw.drop(i)
            elif kind == "gemm" and rec.name.endswith("qkv"):
                block = i
                chain = [rw.emit(split_columns(rec, 1 / groups, name=f"{rec.name}.g{g}"), gpu, rw.deps(i), g,
                                 prio(g, i)) for g in range(groups)]
                rw.ends[i] = tuple(chain)
            elif kind in HEAD_OPS and chain:
                where = gpu if kind == "rope" else pim
                chain = [rw.emit(split_heads(rec, 1 / groups, name=f"{rec.name}.g{g}"), where, (chain[g],), g,
                                 prio(g, i)) for g in range(groups)]
                rw.ends[i] = tuple(chain)
            elif kind == "gemm" and rec.name.endswith("o_proj") and chain:
                last = None
                for g in range(groups):
                    deps = (chain[g],) + ((last,) if last is not None else ())
                    last = rw.emit(split_rows(rec, 1 / groups, name=f"{rec.name}.g{g}"), gpu, deps, g, prio(g, i))
                rw.ends[i] = (last,)
                chain = []
            elif (kind == "gemm" and rec.name.startswith("mlp.") and balanced
                  and narrow_operand(rec) is None             # the PIM multiplies 16-bit operands only
                  and self._share(rec, models) < 1.0):
                share = self._share(rec, models)
                parts = (rw.emit(split_columns(rec, share, name=f"{rec.name}.gpu"), gpu, rw.deps(i)),
                         rw.emit(split_columns(rec, 1 - share, name=f"{rec.name}.pim"), pim, rw.deps(i)))
                rw.ends[i] = parts
            else:
                rw.keep(i, "gpu" if kind == "allreduce" else gpu)


class _Group:
    """One device group's costs, as :func:`balance` wants them."""

    def __init__(self, costs, group: str):
        self.costs, self.group = costs, group

    def cost_ps(self, op) -> int:
        return self.costs.cost_ps(self.group, op)


def balance(rec, gpu_model, pim_model, steps: int = 14) -> float:
    """The GPU's share of ``rec``'s output columns that makes GPU and PIM finish together.

    Bisection on the devices' own cost models (PIM GEMV time is not proportional to
    the columns it gets: every input vector is broadcast whatever the share).
    Returns 1.0 when giving the PIM any share is slower than the GPU alone.
    """
    whole = gpu_model.cost_ps(rec)
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        if gpu_model.cost_ps(split_columns(rec, mid)) < pim_model.cost_ps(split_columns(rec, 1 - mid)):
            lo = mid
        else:
            hi = mid
    share = hi
    both = max(gpu_model.cost_ps(split_columns(rec, share)), pim_model.cost_ps(split_columns(rec, 1 - share)))
    return share if both < whole else 1.0
