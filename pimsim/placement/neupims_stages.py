"""A NeuPIMs decode step as one trace: sub-batches merged in stage order, attention split by PIM channel.

:class:`StageBuilder` takes the decode traces of the sub-batches
(:class:`~pimsim.placement.neupims_batch.Ragged`) and the PIM channel of each
request, and emits one trace for the NPU and its PIM:

* NPU operators (norms, projections, FFN, all-reduces) and K/V appends (writes
  into the PIM memory) as they are;
* per sub-batch, layer and PIM channel, one score and one context operator for
  the requests that channel holds, costed request by request (the softmax on
  the NPU's vector units folded into the score); the context operators wait
  for every channel's score (NeuPIMs runs them as two operations);
* priorities in NeuPIMs' stage order: stage ``2 layer + sub-batch + part``
  (part 0 before attention, 1 the attention, 2 after it), so the NPU runs the
  QKV of one sub-batch, then the QKV of the other beside the first's
  attention, then the first's projection and FFN and its next QKV beside the
  second's attention, and so on.

:meth:`StageBuilder.in_order` makes the NPU and each PIM channel run their
programs in that order; :meth:`StageBuilder.take_turns` makes the NPU and the
PIM hold the memory in turn (no dual row buffers).
"""

from __future__ import annotations

import dataclasses
import itertools

from pimsim.core.errors import ConfigError
from pimsim.placement.base import first
from pimsim.placement.common import kind_names
from pimsim.placement.neupims_batch import Ragged

PRE, ATTENTION, POST = 0, 1, 2


class StageBuilder:
    """The rewritten trace: sub-batch traces merged layer by layer, attention split by PIM channel."""

    def __init__(self, placement, system_spec):
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
