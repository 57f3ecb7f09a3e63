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
pipeline needs per ``stages`` tokens. Every stage (and the host) serves the
queries first come, first served, so when one resource is slower than the ring
(the host sampling 16 queries of Llama-2-7B on 32 devices at a short context) it
sets the pace, as it would in the steady state. The near-memory units of a device
serve its blocks one at a time. Each (query, block) is costed with the device models
(PIM kernels at tile level) and run as two fused tasks: its PIM work on the
block's channels, then its near-memory work.

Prefill (pipeline and hybrid): the prompts' tokens stream through the stages
one after another (CENT pipelines prefill token by token, each token a GEMV
over the weights: PIM has no weight reuse). Prompts are independent, so the
work of ``n`` prompts is ``n`` times one prompt's (costed from the trace of one
prompt, the GEMVs of many tokens timed by linearity from 64 and 128 vectors).
The pass is simulated with the tokens in ``stages`` and ``stages / 2`` equal
chunks and the pipeline fill extrapolated to one token per chunk (``T(C) = A +
B / C``; on Llama-3.2-1B over 4 devices this equals a token-by-token
simulation); option ``prefill_chunks: k`` simulates exactly ``k`` chunks
instead. Then the LM head and sampling of every prompt. This is a departure:
CENT's simulator (``run_sim.py --phase prefill``) charges a prompt as its
tokens one after another, each a full pass through all blocks (mean token
latency x prompt length), with up to ``stages`` prompts in flight; option
``prefill: sequential`` does the same (one decode round at half the prompt,
repeated per prompt token and per group of ``stages`` prompts). Streaming one
prompt's tokens through the stages is valid under causal attention: token
``t + 1`` at block ``b`` needs the keys and values of the earlier tokens at
block ``b``, written when they passed it.

``mapping: tensor``: every block is split over all devices (heads and FFN
columns), joined by all-reduces over CXL; one query at a time (CENT's
latency configuration), or the whole batch together. The KV cache is read by
the attention kernels in the banks (no separate read); the host samples every
query's token before looking up the next embedding.

``mapping: hybrid`` (option ``tp``, default 2: the smallest group, which divides
every even device count and every Llama-2 shape): CENT's hybrid tensor-pipeline
parallelism. The devices are split into ``devices / tp`` stage groups of ``tp``
consecutive devices; the blocks go to the groups in order, ``ceil(blocks /
groups)`` each. A stage group is one pipeline stage: it serves one query at a
time, its blocks one after another, so as many queries are in flight as groups
are used (CENT: PP = devices / TP). Inside a group every block is tensor
parallel over the ``tp`` devices, each using all the channels of its device:
heads and FFN columns are split (the trace is generated with ``tensor_parallel
= tp``) and the partial sums are combined twice per block, after the attention
output projection and after the FFN down projection. Each reduction is a ring
all-reduce over the group through the switch, timed as an idle network times
one (``2 (tp - 1)`` steps of ``1 / tp`` of the vector, each the route's latency
plus the slowest hop's serialization, as ``Network.ideal_allreduce_ps``), on
the near-memory units that add the partial sums. The first device of a group
is simulated for the group, as three fused tasks per (query, block): its
shard's PIM work, the two reductions, its near-memory work; the other ``tp - 1``
devices do the same at the same time and stand in as replicas (energy and FLOPs
scaled). The round simulated is the pipeline's, query ``q`` starting at stage
group ``q``. ``tp = 1`` is CENT's PP = devices point (a device's blocks one after
another on all its channels, one query per device), which is the ``pipeline``
mapping only when every device holds one block; ``tp = devices`` is one stage,
the ``tensor`` mapping at batch 1 (within 1%).

Departures: CENT serialises the PIM and near-memory work of a block exactly as
here but interleaves them finer; CENT's tensor parallelism uses broadcasts and
gathers through the switch (below), here a ring all-reduce over the switch. As
in CENT's model, the LM head (on the last device) is not charged against the
channel group of the block it shares them with: each block's group serves one
query at a time, the LM head runs beside them.

Hybrid against CENT's simulator (``run_sim.py --model_parallel``, which sweeps
TP over the divisors of the device count with PP = devices / TP, and
``cxl_latency.py``): CENT splits every FC layer column-wise over the group and
moves vectors with twelve collectives per block (five multicast broadcasts and
five gathers of the hidden vector, one gather and one broadcast of the FFN
vector, each one switch hop of 180 ns plus its flits at half the lane bandwidth),
about 21 us per block for Llama-2-70B at TP = 4; pimsim splits as Megatron does,
with two ring all-reduces (about 4 us). CENT spreads a query's keys over the
group's banks but keeps its V cache (the context product) on one device, so its
PIM time per block at a 4K context falls only from 0.32 ms at TP = 1 to 0.21 /
0.16 / 0.12 ms at TP = 2 / 4 / 32; pimsim splits attention by heads (Llama-2-70B
at TP = 2: 0.15 ms). Hence CENT's hybrid falls below its pipeline (Llama-2-70B,
512 + 3,584 tokens: 957 / 625 tokens/s at TP = 2 / 4 against 1,151) while
pimsim's is ahead at TP = 2 and 4 (the pipeline's 80 blocks of 10 channels use
27 devices and 30 of their 32 channels). CENT's throughput is PP / token latency
with fractional blocks per device; here the stage with ``ceil(blocks / groups)``
blocks sets the pace. CENT runs softmax and rotary of all heads on one
controller; here each device does its shard's heads (norms on every device).
The reductions' bytes are timed, not simulated as transfers, so they are not in
the link bytes of a step; their link energy (none in the CXL presets) is booked
to the group as ``pim.links``.
"""

from __future__ import annotations

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
from pimsim.placement.cent_passes import (
    Layout,
    PimCosts,
    add_reductions,
    decode_round,
    fuse,
    host_sampling_ps,
    prefill_pipeline,
    with_partitions,
)

MAPPINGS = ("pipeline", "tensor", "hybrid")


class Cent(Placement, kind="cent"):
    paper = "Gu et al., \"PIM Is All You Need: A CXL-Enabled GPU-Free System for LLM Inference\", ASPLOS 2025"
    default_system = "cent"
    description = ("GPU-free: CXL devices of GDDR6-AiM PIM with near-memory units; pipeline, tensor or hybrid "
                   "tensor-pipeline parallel")

    @classmethod
    def options(cls) -> dict:
        return {"mapping": "pipeline", "devices": 0, "tp": 2, "prefill": "pipelined", "prefill_chunks": 0}

    def __init__(self, **options):
        super().__init__(**options)
        mapping, tp = self.opts["mapping"], self.opts["tp"]
        if mapping not in MAPPINGS:
            raise ConfigError(f"cent option mapping must be 'pipeline', 'tensor' or 'hybrid', got {mapping!r}")
        if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1:
            raise ConfigError(f"cent option tp must be a positive integer (devices per stage group), got {tp!r}")
        if self.opts["prefill"] not in ("pipelined", "sequential"):
            raise ConfigError(f"cent option prefill must be 'pipelined' or 'sequential', got {self.opts['prefill']!r}")
        chunks = self.opts["prefill_chunks"]
        if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 0:
            raise ConfigError(f"cent option prefill_chunks must be 0 (stages, fill extrapolated) or a positive "
                              f"integer, got {chunks!r}")

    def _devices(self, system_spec) -> list[str]:
        for group in ("pim", "host"):
            require_group(system_spec, group, self.kind)
        names = system_spec.devices["pim"].instances
        wanted = self.opts["devices"] or len(names)
        if not 1 <= wanted <= len(names):
            raise ConfigError(f"cent option devices={wanted}, but system {system_spec.name} has {len(names)}")
        tp = self.opts["tp"]
        if self.opts["mapping"] == "hybrid" and wanted % tp:
            raise ConfigError(f"cent option tp={tp} must divide the {wanted} CXL devices used into equal stage "
                              f"groups (divisors: {', '.join(str(d) for d in _divisors(wanted))})")
        return names[:wanted]

    def tensor_parallel(self, system_spec) -> int:
        mapping = self.opts["mapping"]
        if mapping == "tensor":
            return len(self._devices(system_spec))
        if mapping == "hybrid":
            self._devices(system_spec)
            return self.opts["tp"]
        return 1

    def tensors(self, model, batch, context, system_spec, precision="FP16") -> list[TensorPlacement]:
        if self.opts["mapping"] != "tensor":
            batch = min(batch, self.stages(model, system_spec))   # one query per stage is resident; the rest wait
        weights, kv = model_bytes(model, batch, context, precision)
        self._devices(system_spec)
        return [TensorPlacement("weights", "pim", weights), TensorPlacement("kv_cache", "pim", kv)]

    def stages(self, model, system_spec=None) -> int:
        """Pipeline stages (queries in flight): every block (``pipeline``) or every stage group used (``hybrid``)."""
        if self.opts["mapping"] == "hybrid":
            spec = system_spec if system_spec is not None else getattr(self.costs, "system_spec", None)
            if spec is not None:
                return self._layout(model, spec).stages
        return model.num_hidden_layers

    def max_batch(self, model) -> int | None:
        """Pipeline and hybrid: one query per stage is in flight; more only wait."""
        return None if self.opts["mapping"] == "tensor" else self.stages(model)

    def _layout(self, model, system_spec) -> Layout:
        devices = self._devices(system_spec)
        blocks = model.num_hidden_layers
        if self.opts["mapping"] == "pipeline":
            per_device = math.ceil(blocks / len(devices))
            return Layout(tuple(devices[b // per_device] for b in range(blocks)),
                           tuple(b % per_device for b in range(blocks)), tuple(range(blocks)),
                           tuple((d,) for d in devices), per_device, 1)
        tp = self.opts["tp"]
        _check_split(model, tp)
        groups = [tuple(devices[i:i + tp]) for i in range(0, len(devices), tp)]
        per_group = math.ceil(blocks / len(groups))
        return Layout(tuple(groups[b // per_group][0] for b in range(blocks)), (0,) * blocks,
                       tuple(range(0, blocks, per_group)), tuple(groups), 1, tp)

    def plan(self, model, phase, batch, tokens, precision, system_spec) -> PassPlan:
        from pimsim.trace import generate

        if self.opts["mapping"] == "tensor":
            self._devices(system_spec)
            return super().plan(model, phase, batch, tokens, precision, system_spec)
        layout = self._layout(model, system_spec)
        spec = with_partitions(system_spec, layout.partitions)
        host = first(spec, "host")
        tensors = tuple(self.tensors(model, batch, tokens, spec, precision))
        trace = generate(model, self.scenario(phase, 1, tokens, precision, spec))     # one query's blocks
        if phase == "prefill":
            source = generate(model, self.scenario(phase, batch, tokens, precision, spec)) if batch > 1 else trace
            if self.opts["prefill"] == "sequential":      # costs decode blocks, not these prefill ones
                return self._sequential_prefill(model, batch, tokens, precision, layout, host, tensors, source, spec)
        blocks, head = self._block_costs(trace, layout, spec)
        if phase == "prefill":
            return self._prefill_plan(blocks, head, batch, tokens, layout, host, tensors, source, spec)
        queries = min(batch, layout.stages)
        built = decode_round(blocks, head, queries, layout, host, host_sampling_ps(spec, 1))
        in_flight = f"{queries} quer{'y' if queries == 1 else 'ies'} in flight"
        if self.opts["mapping"] == "pipeline":
            notes = ((f"pipeline: {model.num_hidden_layers} stages, {layout.partitions} block(s) per device, "
                      f"each on 1/{layout.partitions} of its channels, {in_flight}"),)
        else:
            per_group = math.ceil(model.num_hidden_layers / len(layout.groups))
            notes = ((f"hybrid: {layout.stages} stage groups of {layout.tp} CXL device(s), tensor parallel "
                      f"inside, {per_group} block(s) per group, {in_flight}"),)
        return PassPlan(built[0], self._assignment(built, tensors, notes, layout), queries, source=trace,
                        system_spec=spec)

    def _assignment(self, built, tensors, notes, layout, fifo: bool = True) -> Assignment:
        """The assignment of a built pass (table, devices, fused costs, channel groups). ``fifo``: every
        stage serves the queries in the order they reach it (first come, first served)."""
        table, where, fused, parts = built
        replicas = (("pim", layout.tp),) if layout.tp > 1 else ()
        return Assignment(self.kind, where, tensors, notes=notes, trace=table, fused=fused, parts=parts,
                          replicas=replicas, priorities=(0,) * len(where) if fifo else ())

    def _prefill_plan(self, blocks, head, batch, tokens, layout, host, tensors, trace, spec):
        """The prompts' tokens stream through the stages in chunks (CENT pipelines prefill token by token);
        simulated at ``stages`` and ``stages / 2`` chunks, the fill extrapolated to one token per chunk.
        Prompts are independent: ``batch`` prompts cost ``batch`` times one (``blocks``, ``head``)."""
        wanted = batch * tokens

        def plan(chunks: int) -> PassPlan:
            built = prefill_pipeline(blocks, head, chunks, batch, layout, host, host_sampling_ps(spec, batch))
            notes = (f"prefill: {batch} prompt(s) of {tokens} tokens streamed through {layout.stages} stages "
                     f"in {chunks} chunks",)
            return PassPlan(built[0], self._assignment(built, tensors, notes, layout, fifo=False), batch,
                            source=trace, system_spec=spec)

        if self.opts["prefill_chunks"]:
            return plan(min(wanted, self.opts["prefill_chunks"]))           # exactly as asked, no extrapolation
        fine = min(wanted, layout.stages)
        result = plan(fine)
        coarse = fine // 2
        if coarse >= 1 and wanted > fine:
            result.extrapolate = (plan(coarse), coarse, fine, wanted)
        return result

    def _sequential_prefill(self, model, batch, tokens, precision, layout, host, tensors, source, spec):
        """Prefill as CENT's simulator charges it (``run_sim.py --phase prefill``): every prompt token is one
        token's pass through all the blocks, the prompt's tokens one after another, up to ``stages`` prompts
        in flight. Simulated as one decode round at half the prompt (a round's time is affine in the
        context) and repeated once per prompt token and per group of ``stages`` prompts."""
        from pimsim.trace import generate

        middle = max(1, tokens // 2)
        blocks, head = self._block_costs(generate(model, self.scenario("decode", 1, middle, precision, spec)),
                                         layout, spec)
        queries = min(batch, layout.stages)
        groups = math.ceil(batch / queries)
        built = decode_round(blocks, head, queries, layout, host, host_sampling_ps(spec, 1))
        notes = (f"prefill as CENT's simulator: {tokens} token passes per prompt, {queries} prompt(s) in flight"
                 f"{f', {groups} groups in turn' if groups > 1 else ''}; one round at context {middle} simulated",)
        return PassPlan(built[0], self._assignment(built, tensors, notes, layout), batch, source=source,
                        system_spec=spec, repeat=tokens * groups)

    def place(self, trace, system_spec) -> Assignment:
        """Tensor mapping: shard 0 on the first device, all-reduces over the devices used."""
        from pimsim.placement.common import kind_names

        devices = self._devices(system_spec)
        host = first(system_spec, "host")
        kinds = kind_names(trace)
        where = tuple("pim" if k == "allreduce" else (host if k == "embedding" else devices[0]) for k in kinds)
        # the attention kernels read the KV cache inside the banks: no separate read. The host samples
        # every query's last token before it looks up the next one's embedding (as in the pipeline's round)
        costs = self.costs.for_spec(system_spec)
        queries = max((trace.record(i).m for i, k in enumerate(kinds) if k == "embedding"), default=1)
        fused = []
        for i, k in enumerate(kinds):
            if k == "kv_read":
                fused.append((i, 0, {}))
            elif k == "embedding":
                op = trace.record(i)
                ps = costs.cost_ps("host", op)
                fused.append((i, ps + host_sampling_ps(system_spec, queries), costs.energy_J("host", op, ps)))
        return Assignment(self.kind, where, (), notes=(f"tensor parallel over {len(devices)} CXL devices",),
                          replicas=(("pim", len(devices)),), fused=tuple(fused))

    # -- costing --------------------------------------------------------------------
    def _block_costs(self, trace, layout, spec):
        """Fused costs of each block (by layer) and of the head (final norm + LM head) of one query's
        ``trace``, with the stage group's all-reduces when its blocks are tensor parallel."""
        model = PimCosts(self.costs.for_spec(spec))
        parts: dict[int, list] = {}
        for i in range(len(trace)):
            rec = trace.record(i)
            if rec.kind in ("kv_read", "embedding", "allreduce"):
                continue                     # KV read inside the PIM kernels; embedding on the host
            parts.setdefault(rec.layer, []).append(rec)
        costs = {layer: fuse(recs, model) for layer, recs in parts.items()}
        blocks = {k: v for k, v in costs.items() if k >= 0}
        if layout.tp > 1:
            add_reductions(blocks, trace, layout.groups[0], spec)
        return blocks, costs.get(-1)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _check_split(model, tp: int) -> None:
    from pimsim.trace.shard import shard_of

    try:
        shard_of(model, tp)
    except ConfigError as err:
        raise ConfigError(f"cent option tp={tp}: {err.message}") from None
