"""The passes CENT's pipelined mappings simulate: fused block costs and the operator tables built from them.

A transformer block of one query is costed once with the device models and fused
into a :class:`Block` (its PIM work on its channel group, its near-memory work,
and for tensor-parallel stage groups its all-reduces); :class:`Layout` says which
device and channel group holds each block. From those, :func:`decode_round` builds
one steady-state round of the queries in flight and :func:`prefill_pipeline` the
prompts' tokens streamed through the stages in chunks (see :mod:`pimsim.placement.cent`).
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.trace.table import OpTable

PNM_KINDS = ("norm", "rope", "softmax", "activation")


@dataclasses.dataclass
class Block:
    """The fused cost of one transformer block of one query."""

    pim_ps: int
    pnm_ps: int
    pim_energy: dict
    pnm_energy: dict
    flops: int
    bytes_read: int
    hidden_bytes: int
    reduce_ps: int = 0             # hybrid: the block's all-reduces over its stage group
    reduce_energy: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the blocks of a pipelined mapping go.

    ``devices`` and ``parts``: per block, the (simulated) device and its channel group;
    ``starts``: the first block of every stage; ``groups``: the devices of every stage group.
    """

    devices: tuple[str, ...]
    parts: tuple[int, ...]
    starts: tuple[int, ...]
    groups: tuple[tuple[str, ...], ...]
    partitions: int
    tp: int

    @property
    def stages(self) -> int:
        return len(self.starts)


def add_reductions(blocks: dict, trace, members, system_spec) -> None:
    """Add to every block the time (and link energy) of its all-reduces over a stage group."""
    from pimsim.system.topology import Router, build_graph, node_latency_ps

    graph = build_graph(system_spec)
    router = Router(graph)
    pairs = [(members[i], members[(i + 1) % len(members)]) for i in range(len(members))]
    overhead = getattr(system_spec.devices["pim"].config, "collective_overhead", 0)

    def ring(nbytes: int) -> tuple[int, float]:
        """Ring all-reduce of ``nbytes`` on an idle network: its time, and the link energy of one member."""
        n = len(members)
        piece = math.ceil(nbytes / n)
        step, joules_per_bit = 0, 0.0
        for src, dst in pairs:
            hops = router.route(src, dst)
            links = [graph.edges[u, v]["link"] for u, v, _ in hops]
            latency = sum(link.latency_ps for link in links) + sum(
                node_latency_ps(graph, node) for node in [src] + [v for _, v, _ in hops])
            step = max(step, latency + max((link.serialization_ps(piece) for link in links), default=0))
            joules_per_bit = max(joules_per_bit, sum(link.energy.transfer for link in links))
        steps = 2 * (n - 1)
        return steps * (step + overhead), steps * piece * 8 * joules_per_bit

    cache: dict[int, tuple[int, float]] = {}
    for i in range(len(trace)):
        rec = trace.record(i)
        if rec.kind != "allreduce" or rec.layer not in blocks:
            continue
        nbytes = int(rec.m) * int(rec.n) * max(1, int(rec.activation_bits) // 8)
        if nbytes not in cache:
            cache[nbytes] = ring(nbytes)
        ps, joules = cache[nbytes]
        block = blocks[rec.layer]
        block.reduce_ps += ps
        if joules:
            block.reduce_energy["links"] = block.reduce_energy.get("links", 0.0) + joules


class PimCosts:
    """The PIM devices' costs, as :func:`fuse` wants them."""

    def __init__(self, costs):
        self.costs = costs

    def cost_ps(self, op) -> int:
        return self.costs.cost_ps("pim", op)

    def energy_J(self, op, ps: int) -> dict:
        return self.costs.energy_J("pim", op, ps)


def with_partitions(system_spec, partitions: int):
    node = system_spec.devices["pim"]
    config = dataclasses.replace(node.config, partitions=partitions)
    devices = dict(system_spec.devices)
    devices["pim"] = dataclasses.replace(node, config=config)
    return dataclasses.replace(system_spec, devices=devices)


def fuse(recs, model) -> Block:
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
    return Block(pim_ps, pnm_ps, pim_e, pnm_e, sum(int(r.flops) for r in recs),
                  sum(int(r.bytes_read) for r in recs), hidden)


def _op(rec_id, layer, kind, name, block: Block, deps, write):
    from pimsim.trace.schema import OpRecord

    return OpRecord(id=rec_id, step=0, layer=layer, phase="decode", kind=kind, name=name, m=1, n=0, k=0, heads=0,
                    head_dim=0, batch=1, seq=0, shards=1, weight_bits=16, activation_bits=16, kv_bits=16,
                    bytes_read=block.bytes_read if kind == "gemv" else 0, bytes_written=write,
                    weight_bytes=0, flops=block.flops if kind == "gemv" else 0, deps=tuple(deps))


class _Table:
    """Operators of a CENT pass as they are built: records, devices, fused costs and channel partitions."""

    def __init__(self):
        self.records, self.where, self.fused, self.parts = [], [], [], []

    def add(self, layer, kind, name, cost_ps, energy, block, device, deps, write, part=-1) -> int:
        rid = len(self.records)
        self.records.append(_op(rid, layer, kind, name, block, deps, write))
        self.where.append(device)
        self.fused.append((rid, cost_ps, energy))
        self.parts.append(part)
        return rid

    def finish(self):
        return OpTable.from_records(self.records), tuple(self.where), tuple(self.fused), tuple(self.parts)


def host_sampling_ps(system_spec, tokens: int) -> int:
    """Time for the host to sample ``tokens`` tokens together: ``sampling_units`` of them at once."""
    config = system_spec.devices["host"].config
    units = getattr(config, "sampling_units", 1)
    return getattr(config, "sampling_time", 0) * math.ceil(tokens / units)


def decode_round(blocks: dict, head: Block, queries: int, layout: Layout, host: str, sampling_ps: int):
    """One steady-state round: query q starts at stage q*stages/queries and goes once round."""
    count = len(blocks)
    table = _Table()
    add = table.add
    for q in range(queries):
        start = layout.starts[q * layout.stages // queries]
        last = None
        order = list(range(start, count)) + ["head"] + list(range(start))
        for layer in order:
            deps = () if last is None else (last,)
            if layer == "head":
                dev = layout.devices[count - 1]
                pim = add(-1, "gemv", f"q{q}.lm_head", head.pim_ps + head.pnm_ps,
                          _merge(head.pim_energy, head.pnm_energy), head, dev, deps, 4)   # not on a block's group
                last = add(-1, "softmax", f"q{q}.sample", sampling_ps, {}, head, host, (pim,), head.hidden_bytes)
                continue
            b = blocks[layer]
            dev = layout.devices[layer]
            last = add(layer, "gemv", f"q{q}.block{layer}.pim", b.pim_ps, b.pim_energy, b, dev, deps, 0,
                       layout.parts[layer])
            if b.reduce_ps:      # the partial sums of the stage group, added on the near-memory units
                last = add(layer, "send", f"q{q}.block{layer}.allreduce", b.reduce_ps, b.reduce_energy, b, dev,
                           (last,), 0)
            last = add(layer, "norm", f"q{q}.block{layer}.pnm", b.pnm_ps, b.pnm_energy, b, dev, (last,),
                       b.hidden_bytes)
    return table.finish()


def prefill_pipeline(blocks: dict, head: Block, chunks: int, prompts: int, layout: Layout, host: str,
                      sampling_ps: int):
    """Prefill as a pipeline: ``chunks`` equal chunks of the prompts' tokens go through the blocks in order
    (each a share of the block's cost on its channels), then the LM head and sampling of every prompt."""
    count = len(blocks)
    table = _Table()
    add = table.add
    share = {layer: _share(b, prompts, chunks) for layer, b in blocks.items()}
    ends = []
    for c in range(chunks):
        last = None
        for layer in range(count):
            b = share[layer]
            dev = layout.devices[layer]
            deps = () if last is None else (last,)
            last = add(layer, "gemv", f"c{c}.block{layer}.pim", b.pim_ps, b.pim_energy, b, dev, deps, 0,
                       layout.parts[layer])
            if b.reduce_ps:
                last = add(layer, "send", f"c{c}.block{layer}.allreduce", b.reduce_ps, b.reduce_energy, b, dev,
                           (last,), 0)
            last = add(layer, "norm", f"c{c}.block{layer}.pnm", b.pnm_ps, b.pnm_energy, b, dev, (last,),
                       b.hidden_bytes)
        ends.append(last)
    dev = layout.devices[count - 1]
    heads = _share(head, prompts, 1)
    pim = add(-1, "gemv", "lm_head", heads.pim_ps + heads.pnm_ps, _merge(heads.pim_energy, heads.pnm_energy),
              heads, dev, tuple(ends), 4 * prompts)
    add(-1, "softmax", "sample", sampling_ps, {}, head, host, (pim,), head.hidden_bytes)
    return table.finish()


def _share(b: Block, prompts: int, chunks: int) -> Block:
    """One chunk's share of the prefill work of ``prompts`` prompts, from one prompt's block ``b`` (prompts
    are independent: their work adds up; a chunk takes an even share of time, energy, FLOPs and bytes)."""
    f = prompts / chunks

    def part(energy: dict) -> dict:
        return {k: v * f for k, v in energy.items()}
    return dataclasses.replace(b, pim_ps=math.ceil(b.pim_ps * f), pnm_ps=math.ceil(b.pnm_ps * f),
                               pim_energy=part(b.pim_energy), pnm_energy=part(b.pnm_energy),
                               flops=int(b.flops * f), bytes_read=int(b.bytes_read * f),
                               reduce_ps=math.ceil(b.reduce_ps * f), reduce_energy=part(b.reduce_energy))


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out
