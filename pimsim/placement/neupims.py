"""NeuPIMs: GEMMs on the NPU, decode attention GEMVs in the PIM of its own HBM (Heo et al., ASPLOS 2024).

Each device (group ``npu``, tensor parallel) is an NPU whose HBM2 (group ``pim``,
the same memory: capacity counted once) has 16 multipliers per bank. The NPU
runs norms, the QKV / output projections, the FFN, all-reduces and prefill;
the PIM runs each decode request's score GEMV q.K^T and context GEMV s.V on the
channel that holds its KV cache (requests balanced over the channels, longest
first). Each channel's requests run one after another; score and context are
two operations with a barrier between them, as NeuPIMs schedules them. The
softmax between them runs on the NPU's vector units beside the PIM and is
folded into the score operation (NeuPIMs' logit-softmax).

Options:

* ``interleave`` (NeuPIMs' sub-batch interleaving): every channel's requests are
  split into two halves; the NPU projects one sub-batch while the PIM runs the
  other's attention, stage after stage (off: one batch, NPU and PIM in turn);
* ``dual_row_buffer``: NPU reads and PIM GEMVs share a bank without closing
  each other's rows, so they overlap. Without it they take turns on the
  memory: every run of NPU operators waits for the PIM operators before it
  in program order and the other way round, so nothing overlaps;
* ``tp``: tensor-parallel degree (default: the number of NPUs).

``npu+pim`` is NeuPIMs' naive baseline: no interleaving, no dual row buffers, on
the ``neupims-naive`` system whose PIM issues every COMP and READRES separately.

Departures: no stage barrier between the NPU's and the PIM's programs (an
operator starts when its inputs are ready); the NPU is not slowed by PIM
commands sharing its channels (NeuPIMs measures 14-20%); q, K and V reach the
PIM, and contexts the NPU, over the HBM as transfers.
"""

from __future__ import annotations

import dataclasses
import itertools

from pimsim.core.errors import ConfigError
from pimsim.placement.base import Assignment, PassPlan, first, require_group
from pimsim.placement.common import kind_names
from pimsim.placement.neupims_batch import Ragged, balance, halves
from pimsim.placement.npu import NpuPlacement
from pimsim.trace.table import OpTable

PRE, ATTENTION, POST = 0, 1, 2


class NeuPim(NpuPlacement, kind="neupim"):
    paper = "Heo et al., \"NeuPIMs: NPU-PIM Heterogeneous Acceleration for Batched LLM Inferencing\", ASPLOS 2024"
    description = "GEMMs on NPUs, decode attention in the PIM of their HBM; sub-batch interleaving, dual row buffers"

    @classmethod
    def options(cls) -> dict:
        return {"tp": 0, "interleave": True, "dual_row_buffer": True}

    def _flag(self, name: str) -> bool:
        value = self.opts[name]
        if not isinstance(value, bool):
            raise ConfigError(f"placement '{self.kind}' option {name} must be true or false, got {value!r}")
        return value

    def plan_lengths(self, model, lengths, precision, system_spec) -> PassPlan:
        """A decode step of ``len(lengths)`` requests attending over ``lengths`` tokens."""
        require_group(system_spec, "pim", self.kind)
        interleave, dual = self._flag("interleave"), self._flag("dual_row_buffer")
        whole = self.ragged(model, lengths, precision, system_spec)
        channels = system_spec.devices["pim"].config.partitions
        rows = {k: kind_names(whole.base).index(k) for k in ("attention_score", "attention_context")}
        load = [self.costed("pim", [whole.one(rows[k], x) for k in rows])[0] for x in lengths]
        channel_of = balance(load, channels)
        subs = halves(channel_of, channels) if interleave and len(lengths) > 1 else (list(range(len(lengths))),)
        build = _Build(self, system_spec)
        traces = [self.ragged(model, [lengths[i] for i in sub], precision, system_spec) for sub in subs]
        members = [[channel_of[i] for i in sub] for sub in subs]
        build.run(traces, members, channels)
        build.in_order()
        if interleave and not dual:
            build.take_turns()
        tensors = tuple(self.tensors(model, 1, sum(lengths), system_spec, precision))
        split = (f"{len(subs)} sub-batch(es) over {channels} PIM channels; "
                 f"dual row buffers {'on' if dual else 'off'}")
        notes = (*self.notes(system_spec), split)
        table = OpTable.from_records(build.records, whole.base.meta)
        assignment = Assignment(self.kind, tuple(build.devices), tensors, streams=tuple(build.streams),
                                notes=notes, replicas=self.replicas(system_spec), trace=table,
                                fused=tuple(build.fused), priorities=tuple(build.priorities), parts=tuple(build.parts))
        return PassPlan(table, assignment, len(lengths), source=whole.table())


class NaiveNpuPim(NeuPim, kind="npu+pim"):
    paper = "naive NPU+PIM baseline of Heo et al., \"NeuPIMs\", ASPLOS 2024"
    description = "NeuPIMs' naive baseline: attention GEMVs on Newton-style PIM, NPU and PIM in turn"
    default_system = "neupims-naive"

    @classmethod
    def options(cls) -> dict:
        return {"tp": 0, "interleave": False, "dual_row_buffer": False}


class _Build:
    """The rewritten trace: sub-batch traces merged layer by layer, attention split by PIM channel."""

    def __init__(self, placement: NeuPim, system_spec):
        self.p = placement
        self.npu, self.pim = first(system_spec, "npu"), first(system_spec, "pim")
        self.records, self.devices, self.streams, self.priorities, self.parts, self.fused = [], [], [], [], [], []

    def emit(self, rec, device, deps, stream, priority, part=-1, cost=None) -> int:
        new = dataclasses.replace(rec, id=len(self.records), deps=tuple(dict.fromkeys(deps)))
        self.records.append(new)
        for seq, value in ((self.devices, device), (self.streams, stream), (self.priorities, priority),
                           (self.parts, part)):
            seq.append(value)
        if cost is not None:
            self.fused.append((new.id, *cost))
        return new.id

    def run(self, traces: list[Ragged], members: list[list[int]], channels: int) -> None:
        ends = [{} for _ in traces]
        segments = [_segments(t.base) for t in traces]
        layers = max(t.base["layer"].max() for t in traces) + 1
        for g in range(len(segments[0])):
            for s, (trace, chans) in enumerate(zip(traces, members)):
                for i in segments[s][g]:
                    self._row(trace, chans, channels, s, i, ends[s], layers)

    def _row(self, trace: Ragged, chans, channels, s, i, ends, layers) -> None:
        rec = trace.base.record(i)
        deps = [n for d in rec.deps for n in ends[d]]
        layer = rec.layer if rec.layer >= 0 else (-1 if i == 0 else layers - 1)
        part = POST if rec.kind != "embedding" and (rec.layer < 0 or ends.get(("attended", rec.layer))) else PRE

        def prio(stage: int) -> int:
            """NeuPIMs' stage order, program order within a stage (the embedding first of all)."""
            return stage * 10**6 + i if layer >= 0 or i else -1

        if rec.kind in ("kv_read", "softmax"):
            ends[i] = deps
        elif rec.kind in ("attention_score", "attention_context"):
            ends[("attended", rec.layer)] = rec.kind == "attention_context"
            ends[i] = self._pim(trace, chans, channels, s, i, rec, deps, prio(2 * layer + s + ATTENTION))
        else:
            device = {"allreduce": "npu", "kv_write": self.pim}.get(rec.kind, self.npu)
            ends[i] = (self.emit(rec, device, deps, s, prio(2 * layer + s + part)),)

    def _pim(self, trace: Ragged, chans, channels, s, i, rec, deps, priority) -> tuple[int, ...]:
        """One operator per PIM channel for the requests whose KV caches it holds."""
        softmax = i + 1 if rec.kind == "attention_score" else None
        if softmax is not None and kind_names(trace.base)[softmax] != "softmax":
            raise ConfigError(f"placement '{self.p.kind}' expects the softmax right after {rec.name}")
        out = []
        for c in range(channels):
            mine = [j for j, ch in enumerate(chans) if ch == c]
            if not mine:
                continue
            cost = self.p.costed("pim", [trace.one(i, trace.lengths[j]) for j in mine])
            op = trace.group(i, mine, f"{rec.name}.ch{c}")
            if softmax is not None:                       # the NPU's vector units, beside the PIM
                extra = self.p.costed("npu", [trace.one(softmax, trace.lengths[j]) for j in mine])
                cost = (cost[0] + extra[0], _merge(cost[1], extra[1]))
                op = dataclasses.replace(op, flops=op.flops + trace.group(softmax, mine, "").flops)
            out.append(self.emit(op, self.pim, deps, s, priority, c, cost))
        return tuple(out)

    def in_order(self) -> None:
        """The NPU runs its program in order, and so does each PIM channel (each op waits for the one before)."""
        units: dict = {}
        for r in sorted(range(len(self.records)), key=lambda r: self.priorities[r]):
            if self.devices[r] == self.npu or self.parts[r] >= 0:
                unit = (self.devices[r], self.parts[r])
                if unit in units:
                    self.records[r] = dataclasses.replace(self.records[r], deps=self.records[r].deps + (units[unit],))
                units[unit] = r

    def take_turns(self) -> None:
        """No dual row buffers: NPU and PIM operators hold the memory in turn, in program order."""
        order = sorted((p, r) for r, p in enumerate(self.priorities) if self.devices[r] in (self.npu, self.pim))
        runs: list[list[int]] = []
        for _, r in order:
            if runs and self.devices[runs[-1][0]] == self.devices[r]:
                runs[-1].append(r)
            else:
                runs.append([r])
        for before, after in itertools.pairwise(runs):
            head = self.records[before[-1]]
            token = dataclasses.replace(head, kind="send", name="memory.turn", bytes_read=0, bytes_written=0,
                                        weight_bytes=0, flops=0)
            t = self.emit(token, self.devices[before[-1]], before, self.streams[before[-1]],
                          self.priorities[before[-1]], -1, (0, {}))
            for r in after:
                self.records[r] = dataclasses.replace(self.records[r], deps=self.records[r].deps + (t,))


def _segments(table) -> list[list[int]]:
    """Rows grouped into runs of one layer, in trace order (embedding, layer 0, ..., head)."""
    out: list[list[int]] = []
    layers = table["layer"]
    for i in range(len(table)):
        if out and layers[out[-1][-1]] == layers[i]:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out
