"""A DRAM device: its channel controllers, a request frontend, and the event loop.

:class:`MemorySystem` owns one :class:`~pimsim.dram.controller.ChannelController`
per channel and schedules their wake-ups in integer picoseconds: on a SimPy
environment when it is given one (so that it shares simulated time with other
models), else on its own lighter event loop, which handles the same events in
the same order as SimPy would. :meth:`MemorySystem.replay` feeds it a list of requests
the way a trace-driven frontend does: in trace order, as many per frontend
cycle as the queues accept (or at most ``width``), stalling on the first
request whose queue is full until that queue frees a slot (head-of-line
blocking across channels), and never before a request's own earliest cycle.
"""

from __future__ import annotations

import dataclasses
from heapq import heappop, heappush

import numpy as np
import simpy

from pimsim.core.errors import SimulationError
from pimsim.core.sim import Clock, Wakeup
from pimsim.dram.controller import ChannelController
from pimsim.dram.stats import DramResult, summarise
from pimsim.dram.timing import TimingTables

INF = float("inf")


@dataclasses.dataclass
class RequestBatch:
    """Requests already mapped to DRAM coordinates (parallel numpy arrays)."""

    channel: np.ndarray
    bank: np.ndarray        # flat bank index within the channel
    row: np.ndarray
    col: np.ndarray         # access index within the row
    write: np.ndarray       # bool
    at: np.ndarray | None = None   # earliest frontend cycle, or None for "as soon as possible"

    def __len__(self) -> int:
        return len(self.channel)


class MemorySystem:
    """All channels of one DRAM device, on an external SimPy environment ``env`` or on its own loop.

    The own loop (``env`` None) orders events as SimPy does: by time, then frontend
    events before controller wake-ups, then by the order they were scheduled.
    """

    def __init__(self, spec, env: simpy.Environment | None = None, refresh: str | None = None,
                 record: bool = False):
        self.spec = spec
        self.env = env
        self._queue: list = []          # own loop: heap of (time ps, 0 frontend / 1 wake-up, order, tick)
        self._order = 0                 # own loop: events scheduled so far
        self._now = 0                   # own loop: current time, ps
        self.tables = TimingTables(spec)
        self.clock = Clock(spec.tick_ps)
        refresh_on = (refresh or spec.controller.refresh) == "all-bank"
        channels = spec.organisation.channels
        self.controllers = [ChannelController(self.tables, spec.controller, ch, self, refresh_on)
                            for ch in range(channels)]
        if record:                      # keep every command and completion (tests, command dumps)
            for c in self.controllers:
                c.log, c.done_log = [], []
        self._wake_at = [INF] * channels     # per channel: the tick it is due to run next
        #: tick -> the channels due then, in scheduling order; a channel is listed once, at its _wake_at
        self._due: dict[int, list] = {}
        self._blocked = None
        self._resume = False
        self._progress = 0
        self._stall_ticks = 100 * max(spec.cycles["tREFI"], spec.cycles["tRFC"]) * spec.ticks_per_clock
        self._finished = None           # SimPy: event triggered once every request is served
        self._all_done = False

    # -- controller wake-ups ---------------------------------------------
    def _wake(self, ch: int, tick) -> None:
        """Run channel ``ch`` at ``tick`` (if that is earlier than it is due already).

        All channels due at one tick share one SimPy event; they run in the order
        their wake-ups were scheduled. Moving a wake-up earlier takes the channel
        off the later tick's list (whose event then runs the others, or none).
        The later tick has not run yet: a wake-up moves only before the channel's
        next tick, and never to a tick before the current one.
        """
        old = self._wake_at[ch]
        if tick >= old:
            return
        if old < INF:
            self._due[old].remove(ch)
        self._wake_at[ch] = tick
        due = self._due.get(tick)
        if due is None:
            due = self._due[tick] = []
            self._schedule_wake(tick)
        due.append(ch)

    def _schedule_wake(self, tick: int) -> None:
        """An event at ``tick`` that runs the channels then due."""
        if self.env is None:
            self._order += 1
            heappush(self._queue, (self.clock.ps(tick), 1, self._order, tick))
        else:
            ev = Wakeup(self.env, self.clock.ps(tick) - self.env.now, self._on_wake)
            ev.tick = tick

    def _on_wake(self, ev) -> None:
        self._run_due(ev.tick)

    def _run_due(self, tick: int) -> None:
        """Run the channels due at ``tick``."""
        wake_at, ctrls, due = self._wake_at, self.controllers, self._due
        stalled = tick - self._stall_ticks      # no progress since before this tick: a stall
        for ch in due.pop(tick):
            ctrl = ctrls[ch]
            if self._progress < stalled and not ctrl.idle():
                raise SimulationError(f"channel {ch} made no progress for {tick - self._progress} ticks "
                                      f"with requests queued (a request that can never be served)")
            nxt = ctrl.tick(tick)
            if nxt < INF:                   # self._wake(ch, nxt), inline: the channel is not due before
                wake_at[ch] = nxt
                later = due.get(nxt)
                if later is None:
                    later = due[nxt] = []
                    self._schedule_wake(nxt)
                later.append(ch)
            else:
                wake_at[ch] = INF
            if self._resume:
                self._resume = False
                self._inject(tick + 1, direct=True)

    # -- notices from controllers ---------------------------------------
    def space_freed(self, ch: int, write: bool, tick: int) -> None:
        if self._blocked is not None and self._blocked == (ch, write):
            self._blocked = None
            self._resume = True            # served right after this controller's tick

    def request_done(self, ch: int, tick: int) -> None:
        self._progress = tick
        if self._pos >= self._n and not self._all_done:
            if all(c.idle() for c in self.controllers):
                self._all_done = True
                if self._finished is not None:
                    self._finished.succeed()

    # -- frontend ---------------------------------------------------------
    def _frontend_at(self, tick: int) -> None:
        if self.env is None:
            self._order += 1
            heappush(self._queue, (max(self._now, self.clock.ps(tick)), 0, self._order, tick))
            return
        ev = Wakeup(self.env, max(0, self.clock.ps(tick) - self.env.now), self._frontend, urgent=True)
        ev.tick = tick

    def _frontend(self, ev) -> None:
        self._inject(ev.tick, direct=False)

    def _inject(self, t: int, direct: bool) -> None:
        """Offer requests in trace order before tick ``t`` until one is refused.

        ``direct``: called at the end of a controller's tick t-1 rather than from
        the frontend's own event; a request for a channel that still has to run
        tick t-1 must wait for the frontend event, so it never sees the request early.
        """
        i, n, width = self._pos, self._n, self._width
        chan, bank, row, key, write, at = self._reqs
        ctrls, wake_at = self.controllers, self._wake_at
        accepted = 0
        while i < n:
            if at is not None and at[i] > t:
                self._frontend_at(at[i])
                break
            ch = chan[i]
            if direct and wake_at[ch] < t:
                self._frontend_at(t)
                break
            ctrl = ctrls[ch]
            req = ctrl.offer(write[i], bank[i], row[i], key[i], t)
            if req is None:
                self._blocked = (ch, write[i])
                break
            if req is not True:
                soon = ctrl.arrival_wake(req, t)
                if soon < wake_at[ch]:
                    self._wake(ch, soon)
            i += 1
            accepted += 1
            if width and accepted >= width and i < n:
                self._frontend_at(t + 1)
                break
        self._pos = i
        self.request_done(-1, t)

    # -- running ------------------------------------------------------------
    def replay(self, batch: RequestBatch, width: int | None = None) -> DramResult:
        """Serve every request of ``batch``; return the statistics of the run."""
        o = self.spec.organisation
        per_bank = o.rows * o.accesses_per_row
        key = (batch.bank.astype(np.int64) * o.rows + batch.row) * o.accesses_per_row + batch.col
        key = key + batch.channel.astype(np.int64) * (per_bank * self.tables.nbanks)
        at = None if batch.at is None else [int(a) for a in batch.at]
        self._reqs = (batch.channel.tolist(), batch.bank.tolist(), batch.row.tolist(), key.tolist(),
                      batch.write.tolist(), at)
        self._pos, self._n, self._width = 0, len(batch), width
        self._all_done = False
        if self.env is not None:
            self._finished = self.env.event()
        self._frontend_at(1)
        if self._n:
            if self.env is None:
                self._run_own(None)
                end_tick = max(c.stats.last_done for c in self.controllers)
                self._run_own(max(self._now, self.clock.ps(end_tick)) + 1)
            else:
                self.env.run(until=self._finished)
                # run on to the last data beat, so refreshes falling due before it happen too
                end_tick = max(c.stats.last_done for c in self.controllers)
                self.env.run(until=max(self.env.now, self.clock.ps(end_tick)) + 1)
        self._check_complete()
        return summarise(self.spec, self.tables, self.controllers, len(batch))

    def _run_own(self, until: int | None) -> None:
        """Own loop: handle events in order until every request is served (``until`` None),
        or else those before time ``until`` (ps); stop early if no events are left."""
        queue, run_due, inject = self._queue, self._run_due, self._inject
        while queue:
            if until is None:
                if self._all_done:
                    return
            elif queue[0][0] >= until:
                break
            self._now, wake, _, tick = heappop(queue)
            if wake:
                run_due(tick)
            else:
                inject(tick, False)
        if until is not None:
            self._now = max(self._now, until)

    def _check_complete(self) -> None:
        served = sum(c.stats.reads + c.stats.writes for c in self.controllers)
        if served != self._n:
            raise SimulationError(f"{self._n - served} of {self._n} requests were never served")
