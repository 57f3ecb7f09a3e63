"""Batches of requests of different context lengths, as the NeuPIMs placements run them.

* :func:`sharegpt_lengths`: context lengths like NeuPIMs' ShareGPT request traces;
* :func:`balance`: each request's KV cache goes whole to one PIM channel, the
  longest first to the least-loaded channel (NeuPIMs' greedy channel load balancing);
* :func:`halves`: NeuPIMs' two sub-batches - the first half of every channel's
  requests and the second (odd counts alternate which half gets the extra one);
* :class:`Ragged`: a decode trace of a batch whose requests attend over different
  lengths, exact in bytes and FLOPs, and single-request operators for costing.

A decode operator's bytes and FLOPs are affine in each request's context
length, so two traces of the batch at the lengths ``floor(mean)`` and
``floor(mean) + 1`` give every operator exactly.
"""

from __future__ import annotations

import dataclasses
import heapq

import numpy as np

from pimsim.trace.table import OpTable

#: lognormal fitted to NeuPIMs' ShareGPT request traces (median ~200 tokens, mean ~300, capped at 2048)
SHAREGPT_LOG_MEAN, SHAREGPT_LOG_SIGMA, SHAREGPT_CAP = 5.29, 0.98, 2048
SCALED = ("bytes_read", "bytes_written", "flops")


def sharegpt_lengths(n: int, seed: int = 0, cap: int = SHAREGPT_CAP) -> tuple[int, ...]:
    """``n`` context lengths drawn like ShareGPT conversations (seeded, 1 .. ``cap`` tokens)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.lognormal(SHAREGPT_LOG_MEAN, SHAREGPT_LOG_SIGMA, n)), 1, cap)
    return tuple(int(x) for x in lengths)


def balance(costs, channels: int) -> tuple[int, ...]:
    """Channel of every request: largest cost first, each to the least-loaded channel."""
    heap = [(0, c) for c in range(channels)]
    out = [0] * len(costs)
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        load, c = heapq.heappop(heap)
        out[i] = c
        heapq.heappush(heap, (load + costs[i], c))
    return tuple(out)


def halves(channel_of, channels: int) -> tuple[list[int], list[int]]:
    """Request indices of the two sub-batches: each channel's first half, then its second."""
    first: list[int] = []
    second: list[int] = []
    bigger_first = True
    for c in range(channels):
        mine = [i for i, ch in enumerate(channel_of) if ch == c]
        cut = len(mine) // 2
        if len(mine) % 2:
            cut += 1 if bigger_first else 0
            bigger_first = not bigger_first
        first += mine[:cut]
        second += mine[cut:]
    return first, second


class Ragged:
    """The decode trace of ``n`` requests with context ``lengths``, from a generator ``gen(context)``."""

    def __init__(self, gen, lengths):
        self.lengths = tuple(int(x) for x in lengths)
        self.n = len(self.lengths)
        self.total = sum(self.lengths)
        self.floor = max(1, self.total // self.n)
        self.base = gen(self.floor)
        uniform = all(x == self.floor for x in self.lengths)
        self.step = None if uniform else gen(self.floor + 1)

    def _delta(self, column: str) -> np.ndarray:
        if self.step is None:
            return np.zeros(len(self.base), dtype=np.int64)
        return self.step[column].astype(np.int64) - self.base[column].astype(np.int64)

    def table(self) -> OpTable:
        """The batch's trace with every operator's bytes and FLOPs exact for the lengths."""
        extra = self.total - self.n * self.floor
        cols = dict(self.base.columns)
        for c in SCALED:
            cols[c] = self.base[c].astype(np.int64) + self._delta(c) * extra // self.n
        return OpTable(cols, self.base.dep_ptr, self.base.dep_ids, self.base.names, self.base.meta)

    def one(self, row: int, length: int):
        """Operator ``row`` for one request attending over ``length`` tokens."""
        rec = self.base.record(row)
        fields = {c: max(0, (int(self.base[c][row]) + int(self._delta(c)[row]) * (length - self.floor)) // self.n)
                  for c in SCALED}
        if rec.kind in ("attention_score", "softmax"):
            fields["n"] = length
        if rec.kind == "attention_context":
            fields["k"] = length
        return dataclasses.replace(rec, batch=1, seq=length if rec.seq else 0, **fields)

    def group(self, row: int, members, name: str):
        """Operator ``row`` for the requests ``members`` (indices into ``lengths``), exact in bytes."""
        recs = [self.one(row, self.lengths[i]) for i in members]
        first = recs[0]
        sums = {c: sum(getattr(r, c) for r in recs) for c in SCALED}
        mean = round(sum(self.lengths[i] for i in members) / len(members))
        return dataclasses.replace(first, name=name, batch=len(members), seq=mean if first.seq else 0, **sums)
