"""A GDDR6-AiM device at command level: CENT's instruction DMA feeding per-channel controllers.

What the DMA does (as in CENT's simulator, aim_simulator 2eb1ee0):

* the host streams instructions (:class:`~pimsim.pim.isr.Isr`) one per tick;
* each tick the DMA decodes the head instruction into ``opsize x channels``
  per-channel requests (column outer, channel inner) and offers them to the
  channel controllers (:mod:`pimsim.pim.aim_channel`); a request a full buffer
  refuses waits in a per-channel side queue and is retried every tick; the next
  instruction is decoded only once all of the previous one's requests were
  accepted (so at most one instruction per tick, and plain ``R/W MEM`` traffic
  enters at one burst per tick for the whole device);
* RD_MAC, RD_AF, SYNC and EOC block the DMA until every targeted channel has
  completed them; EWADD (CENT adds in the CXL controller) and GPR/CFR accesses
  cost one decode tick and no DRAM work.

The run ends when EOC has completed in every channel; the time reported is
ticks until then (one tick = one tCK). Channels that receive exactly the same
requests are simulated once and counted ``weight`` times (the DMA decodes and
offers requests to each channel independently, so this is exact).

SimPy drives it: the DMA acts first in a tick (urgent events), then the
controllers; each wakes only at ticks where something can change.
"""

from __future__ import annotations

from collections import deque

import simpy

from pimsim.core.errors import SimulationError, TraceError
from pimsim.core.sim import Clock, Wakeup
from pimsim.pim.aim_channel import AIM, READ, SYNC, WRITE, AimChannel, Request
from pimsim.pim.isr import AF_LUT_ROW, ISR_COMMANDS

INF = float("inf")


def channel_classes(isrs, nchannels: int) -> list[list[int]]:
    """Groups of channels that receive identical request streams (SYNC/EOC go to all)."""
    sig = [0] * nchannels
    for j, isr in enumerate(isrs):
        if isr.op in ("SYNC", "EOC", "EWADD", "GPR", "CFR"):
            continue
        for ch in isr.channels(nchannels):
            if not 0 <= ch < nchannels:
                raise TraceError(f"instruction {j + 1} ({isr.op}) addresses channel {ch}; the device has "
                                 f"channels 0..{nchannels - 1}")
            sig[ch] = hash((sig[ch], j))
    groups: dict[int, list[int]] = {}
    for ch in range(nchannels):
        groups.setdefault(sig[ch], []).append(ch)
    return sorted(groups.values())


class AimSystem:
    """All channels of one GDDR6-AiM device running an instruction stream."""

    def __init__(self, tables, isrs, refresh: bool = False, collapse: bool = True):
        spec = tables.spec
        self.tables, self.isrs = tables, list(isrs)
        self.nchannels = spec.organisation.channels
        classes = channel_classes(self.isrs, self.nchannels) if collapse else \
            [[ch] for ch in range(self.nchannels)]
        self.channels = [AimChannel(self, cls[0], tables, len(cls), refresh) for cls in classes]
        self.rep = {cls[0]: chan for cls, chan in zip(classes, self.channels)}
        self.of = {ch: chan for cls, chan in zip(classes, self.channels) for ch in cls}
        self.env = simpy.Environment()
        self.clock = Clock(spec.tick_ps)
        self.head = 0
        self.stalled = 0
        self.side: dict = {}
        self.end_tick = None
        self._wake_at: dict = {}
        self._gen: dict = {}
        self._done = self.env.event()
        c = tables.cmd
        register = set(tables.arch.mode_switch.register) if tables.arch.mode_switch else set()
        self._decode = {op: (c[v[0]], v[1], v[2], v[0] in register) for op, v in ISR_COMMANDS.items() if v}

    # -- running ------------------------------------------------------------------
    def run(self) -> int:
        """Run to the end of the stream; return the tick count (until EOC completed everywhere)."""
        if not self.isrs or self.isrs[-1].op != "EOC":
            raise TraceError("an AiM instruction stream must end with EOC")
        self._wake(None, 0)
        self.env.run(until=self._done)
        self.check_finished()
        return self.end_tick + 1

    def _wake(self, chan, tick: int) -> None:
        """Wake the DMA (chan None, urgent) or a controller at ``tick`` unless it already wakes sooner."""
        if tick >= self._wake_at.get(chan, INF):
            return
        self._wake_at[chan] = tick
        gen = self._gen[chan] = self._gen.get(chan, 0) + 1
        ev = Wakeup(self.env, self.clock.ps(tick) - self.env.now, self._on_wake, urgent=chan is None)
        ev.chan, ev.tick, ev.gen = chan, tick, gen

    def _on_wake(self, ev) -> None:
        chan = ev.chan
        if ev.gen != self._gen[chan]:
            return
        self._wake_at[chan] = INF
        if chan is None:
            nxt = self._dma_tick(ev.tick)
        else:
            nxt = chan.tick(ev.tick)
        if nxt < INF:
            self._wake(chan, int(nxt))

    # -- notices from controllers ----------------------------------------------------
    def slot_freed(self, chan, t: int) -> None:
        if self.side.get(chan):
            self._wake(None, t + 1)

    def receive(self, chan, t: int) -> None:
        """A blocking request finished in ``chan`` (counts for all channels of its class)."""
        self.stalled -= chan.weight
        if self.stalled == 0:
            self._pop(t)

    # -- the DMA --------------------------------------------------------------------------
    def _dma_tick(self, t: int) -> float:
        was_waiting = any(self.side.values())
        still = False
        for chan, queue in self.side.items():
            while queue:
                if not chan.send(queue[0], t):
                    still = True
                    break
                queue.popleft()
                self._wake(chan, t)
        if self.stalled:
            return INF
        if was_waiting:
            if not still:
                self._pop(t)
            return INF
        if self.head >= len(self.isrs) or self.end_tick is not None:
            return INF
        if self.head > t:                      # the host streams one instruction per tick
            return self.head
        return self._decode_head(t)

    def _pop(self, t: int) -> None:
        if self.isrs[self.head].op == "EOC":
            self.end_tick = t
            self._done.succeed()
            return
        self.head += 1
        self._wake(None, t + 1)

    def _decode_head(self, t: int) -> float:
        isr = self.isrs[self.head]
        all_sent = True
        for chan, req in self._requests(isr):
            if req.blocking or req.kind == SYNC:
                self.stalled += chan.weight
            queue = self.side.setdefault(chan, deque())
            if chan.send(req, t):
                self._wake(chan, t)
            else:
                queue.append(req)
                all_sent = False
        if self.stalled == 0 and all_sent:
            self._pop(t)
        return INF

    def _requests(self, isr):
        """(representative channel, request) pairs for one instruction, in the DMA's order."""
        op = isr.op
        if op in ("SYNC", "EOC"):
            return [(chan, Request(None, None, -1, SYNC, blocking=True)) for chan in self._targets(isr)]
        if op in ("R_MEM", "W_MEM"):
            return [(self.of[isr.channel], self._mem_request(isr))]
        if op in ("GPR", "CFR") or ISR_COMMANDS.get(op) is None:
            return []
        cmd, span, blocking, register = self._decode[op]
        key = self._key(span, isr)
        row = AF_LUT_ROW if op == "AF" else isr.row
        kind = READ if op == "RD_SBK" else WRITE if op == "WR_SBK" else AIM
        targets = self._targets(isr)
        return [(chan, Request(cmd, key, row, kind, blocking, register))
                for _ in range(isr.opsize) for chan in targets]

    def _targets(self, isr) -> list:
        """Representatives of the channels an instruction goes to, in the DMA's order (mask LSB first)."""
        seen, out = set(), []
        for ch in isr.channels(self.nchannels):
            chan = self.of[ch]
            if chan.index == ch and ch not in seen:
                seen.add(ch)
                out.append(chan)
        return out

    def _key(self, span: str, isr):
        levels = self.tables.levels
        if span == "none":
            return None
        if span == "all":
            return tuple(None for _ in levels[1:])
        sizes = self.tables.sizes
        if not 0 <= isr.bank < sizes[0] * sizes[1]:
            raise TraceError(f"{isr.op}: bank {isr.bank} is not in 0..{sizes[0] * sizes[1] - 1}")
        return (isr.bank // sizes[1], isr.bank % sizes[1])

    def _mem_request(self, isr) -> Request:
        write = isr.op == "W_MEM"
        if not 0 <= isr.row < self.tables.spec.organisation.rows:
            raise TraceError(f"{isr.op}: row {isr.row} is not in 0..{self.tables.spec.organisation.rows - 1}")
        cmd = self.tables.cmd["WR" if write else "RD"]
        return Request(cmd, self._key("bank", isr), isr.row, WRITE if write else READ)

    # -- results ----------------------------------------------------------------------------
    def totals(self) -> tuple[dict, list[int]]:
        """(command counts, counters) summed over all channels (weights applied)."""
        names = self.tables.names
        counts = {n: 0 for n in names}
        counters = [0] * len(self.channels[0].state.counters)
        for chan in self.channels:
            for i, n in enumerate(names):
                counts[n] += chan.state.counts[i] * chan.weight
            for i, v in enumerate(chan.state.counters):
                counters[i] += v * chan.weight
        return counts, counters

    def check_finished(self) -> None:
        busy = [c.index for c in self.channels if not c.idle()]
        if busy:
            raise SimulationError(f"channel(s) {busy} still hold requests at EOC")
