"""CENT: no GPU; CXL devices full of GDDR6-AiM PIM behind a CXL 3.0 switch (Gu et al., ASPLOS 2025).

Every transformer block runs inside the PIM memory of the CXL devices (group
``pim``): the FC GEMVs and the attention score/context GEMVs on the AiM
channels, softmax, RMSNorm, rotary and activations on the near-memory units of
each device's CXL controller; the host (group ``host``) samples the next token.

``mapping: pipeline`` (CENT's default for throughput): one block per pipeline
stage, ``ceil(blocks / devices)`` blocks per device, each on an equal share of
the device's 32 channels (8 / 16 / 10 channels per block for Llama-2
7B / 13B / 70B on 8 / 20 / 32 devices); as many queries in flight as there are
stages, one query per stage; each stage hands the hidden vector to the next
over CXL. The decode step simulated is one steady-state round of the pipeline:
query ``q`` starts at stage ``q`` and runs once round the ring (its blocks from
``q`` on, the LM head, sampling on the host, the embedding, its blocks before
``q``), so every query produces one token and the round's time is what the
pipeline needs per ``stages`` tokens. The near-memory units of a device serve
its blocks one at a time. Each (query, block) is costed with the device models
(PIM kernels at tile level) and run as two fused tasks: its PIM work on the
block's channels, then its near-memory work.

``mapping: tensor``: every block is split over all devices (heads and FFN
columns), joined by all-reduces over CXL; one query at a time (CENT's
latency configuration).

Departures: CENT serialises the PIM and near-memory work of a block exactly as
here but interleaves them finer; CENT's tensor parallelism uses broadcasts and
gathers through the host, here a ring all-reduce over the switch. As in CENT's
model, the LM head (on the last device) is not charged against the channel
group of the block it shares them with: each block's group serves one query at
a time, the LM head runs beside them.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.errors import ConfigError
from pimsim.placement.base import (
    Assignment,
    PassPlan,
    Placement,
    TensorPlacement,
    first,
    model_bytes,
    require_group,
)
from pimsim.trace.table import OpTable

PNM_KINDS = ("norm", "rope", "softmax", "activation")


@dataclasses.dataclass
class _Block:
    """The fused cost of one transformer block of one query."""

    pim_ps: int
    pnm_ps: int
    pim_energy: dict
    pnm_energy: dict
    flops: int
    bytes_read: int
    hidden_bytes: int


class Cent(Placement, kind="cent"):
    paper = "Gu et al., \"PIM Is All You Need: A CXL-Enabled GPU-Free System for LLM Inference\", ASPLOS 2025"
    default_system = "cent"
    description = "GPU-free: CXL devices of GDDR6-AiM PIM with near-memory units; pipeline or tensor parallel"

    @classmethod
    def options(cls) -> dict:
        return {"mapping": "pipeline", "devices": 0}

    def _devices(self, system_spec) -> list[str]:
        for group in ("pim", "host"):
            require_group(system_spec, group, self.kind)
        names = system_spec.devices["pim"].instances
        wanted = self.opts["devices"] or len(names)
        if not 1 <= wanted <= len(names):
            raise ConfigError(f"cent option devices={wanted}, but system {system_spec.name} has {len(names)}")
        return names[:wanted]

    def tensor_parallel(self, system_spec) -> int:
        return len(self._devices(system_spec)) if self.opts["mapping"] == "tensor" else 1

    def tensors(self, model, batch, context, system_spec, precision="FP16") -> list[TensorPlacement]:
        if self.opts["mapping"] not in ("pipeline", "tensor"):
            raise ConfigError(f"cent option mapping must be 'pipeline' or 'tensor', got {self.opts['mapping']!r}")
        if self.opts["mapping"] == "pipeline":
            batch = min(batch, self.stages(model))   # one query per stage is resident; the rest wait
        weights, kv = model_bytes(model, batch, context, precision)
        self._devices(system_spec)
        return [TensorPlacement("weights", "pim", weights), TensorPlacement("kv_cache", "pim", kv)]

    def stages(self, model) -> int:
        return model.num_hidden_layers

    def max_batch(self, model) -> int | None:
        """Pipeline: one query per stage is in flight; more only wait."""
        return self.stages(model) if self.opts["mapping"] == "pipeline" else None

    def plan(self, model, phase, batch, tokens, precision, system_spec) -> PassPlan:
        from pimsim.trace import generate

        devices = self._devices(system_spec)
        if self.opts["mapping"] == "tensor":
            return super().plan(model, phase, batch, tokens, precision, system_spec)
        per_device = math.ceil(model.num_hidden_layers / len(devices))
        spec = _with_partitions(system_spec, per_device)
        queries = 1 if phase == "prefill" else min(batch, self.stages(model))
        trace = generate(model, self.scenario(phase, 1, tokens, precision, spec))
        blocks, head = self._costs(trace, self.costs.for_spec(spec))
        host = first(spec, "host")
        sampling_ps = getattr(spec.devices["host"].config, "sampling_time", 0)
        table, where, fused, parts = _ring(blocks, head, queries, devices, per_device, host, sampling_ps)
        tensors = tuple(self.tensors(model, batch, tokens, spec, precision))
        notes = (f"pipeline: {model.num_hidden_layers} stages, {per_device} block(s) per device, each on "
                 f"1/{per_device} of its channels, {queries} quer{'y' if queries == 1 else 'ies'} in flight",)
        assignment = Assignment(self.kind, where, tensors, notes=notes, trace=table, fused=fused, parts=parts)
        return PassPlan(table, assignment, queries, source=trace, system_spec=spec)

    def place(self, trace, system_spec) -> Assignment:
        """Tensor mapping: shard 0 on the first device, all-reduces over the devices used."""
        from pimsim.placement.common import kind_names

        devices = self._devices(system_spec)
        host = first(system_spec, "host")
        where = tuple("pim" if k == "allreduce" else (host if k == "embedding" else devices[0])
                      for k in kind_names(trace))
        return Assignment(self.kind, where, (), notes=(f"tensor parallel over {len(devices)} CXL devices",),
                          replicas=(("pim", len(devices)),))

    # -- costing --------------------------------------------------------------------
    def _costs(self, trace, costs):
        """Fused costs of each block (by layer) and of the head (final norm + LM head)."""
        model = _Pim(costs)
        parts: dict[int, list] = {}
        for i in range(len(trace)):
            rec = trace.record(i)
            if rec.kind in ("kv_read", "embedding", "allreduce"):
                continue                     # KV read inside the PIM kernels; embedding on the host
            parts.setdefault(rec.layer, []).append(rec)
        costs = {layer: _fuse(recs, model) for layer, recs in parts.items()}
        return {k: v for k, v in costs.items() if k >= 0}, costs.get(-1)


class _Pim:
    """The PIM devices' costs, as :func:`_fuse` wants them."""

    def __init__(self, costs):
        self.costs = costs

    def cost_ps(self, op) -> int:
        return self.costs.cost_ps("pim", op)

    def energy_J(self, op, ps: int) -> dict:
        return self.costs.energy_J("pim", op, ps)


def _with_partitions(system_spec, partitions: int):
    node = system_spec.devices["pim"]
    config = dataclasses.replace(node.config, partitions=partitions)
    devices = dict(system_spec.devices)
    devices["pim"] = dataclasses.replace(node, config=config)
    return dataclasses.replace(system_spec, devices=devices)


def _fuse(recs, model) -> _Block:
    pim = [r for r in recs if r.kind not in PNM_KINDS]
    pnm = [r for r in recs if r.kind in PNM_KINDS]

    def total(group):
        ps = [model.cost_ps(r) for r in group]
        energy: dict = {}
        for r, d in zip(group, ps):
            for key, joules in model.energy_J(r, d).items():
                energy[key] = energy.get(key, 0.0) + joules
        return sum(ps), energy

    pim_ps, pim_e = total(pim)
    pnm_ps, pnm_e = total(pnm)
    hidden = max((int(r.bytes_written) for r in recs if r.kind == "norm"), default=0)
    return _Block(pim_ps, pnm_ps, pim_e, pnm_e, sum(int(r.flops) for r in recs),
                  sum(int(r.bytes_read) for r in recs), hidden)


def _op(rec_id, layer, kind, name, block: _Block, deps, write):
    from pimsim.trace.schema import OpRecord

    return OpRecord(id=rec_id, step=0, layer=layer, phase="decode", kind=kind, name=name, m=1, n=0, k=0, heads=0,
                    head_dim=0, batch=1, seq=0, shards=1, weight_bits=16, activation_bits=16, kv_bits=16,
                    bytes_read=block.bytes_read if kind == "gemv" else 0, bytes_written=write,
                    weight_bytes=0, flops=block.flops if kind == "gemv" else 0, deps=tuple(deps))


def _ring(blocks: dict, head: _Block, queries: int, devices, per_device: int, host: str, sampling_ps: int):
    """One steady-state round: query q starts at stage q*stages/queries and goes once round."""
    stages = len(blocks)
    records, where, fused, parts = [], [], [], []

    def add(layer, kind, name, cost_ps, energy, block, device, deps, write, part=-1):
        rid = len(records)
        records.append(_op(rid, layer, kind, name, block, deps, write))
        where.append(device)
        fused.append((rid, cost_ps, energy))
        parts.append(part)
        return rid

    for q in range(queries):
        start = q * stages // queries
        last = None
        order = list(range(start, stages)) + ["head"] + list(range(start))
        for layer in order:
            deps = () if last is None else (last,)
            if layer == "head":
                dev = devices[(stages - 1) // per_device]
                pim = add(-1, "gemv", f"q{q}.lm_head", head.pim_ps + head.pnm_ps,
                          _merge(head.pim_energy, head.pnm_energy), head, dev, deps, 4)   # not on a block's group
                last = add(-1, "softmax", f"q{q}.sample", sampling_ps, {}, head, host, (pim,), head.hidden_bytes)
                continue
            b = blocks[layer]
            dev = devices[layer // per_device]
            pim = add(layer, "gemv", f"q{q}.block{layer}.pim", b.pim_ps, b.pim_energy, b, dev, deps, 0,
                      layer % per_device)
            last = add(layer, "norm", f"q{q}.block{layer}.pnm", b.pnm_ps, b.pnm_energy, b, dev, (pim,),
                       b.hidden_bytes)
    return OpTable.from_records(records), tuple(where), tuple(fused), tuple(parts)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out
