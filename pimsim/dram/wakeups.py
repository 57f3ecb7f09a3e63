"""When a channel controller next needs to run: the wake-up ticks of :mod:`pimsim.dram.controller`.

The controller is event-driven: after each tick it asks :meth:`WakeTimes._next_wake`
for the first later tick at which any queued command could become legal (or a
refresh falls due), and on a new request :meth:`WakeTimes.arrival_wake` says whether
it could be decided earlier. HBM3 issues column commands, ACT and REF on rising
clock edges only (odd ticks). :class:`WakeTimes` is a mixin of
:class:`~pimsim.dram.controller.ChannelController` and reads its state.
"""

from __future__ import annotations

from heapq import heappop, heapreplace

from pimsim.dram.family import CMD
from pimsim.dram.queues import Request

ACT, PRE, PREA, RD, WR, REF = (CMD[c] for c in ("ACT", "PRE", "PREA", "RD", "WR", "REF"))
INF = float("inf")


class WakeTimes:
    """The wake-up computations of a channel controller (state: the controller's)."""

    __slots__ = ()

    def arrival_wake(self, req: Request, t: int) -> float:
        """Earliest tick >= ``t`` at which newly queued ``req`` could change a decision."""
        if self.priority:
            return INF                     # requests wait for the refresh; its wake-ups cover them
        if self._mode_switch_due():
            return t                       # the write/read mode will switch: re-evaluate everything
        if req.write != self.write_mode:
            return INF
        bank = req.bank
        orow = self.open_row[bank]
        if orow == req.row:                         # its next command's ready-list entries, then the
            shared, low = req.col_shared, req.col_low       # earliest tick (self.timing.earliest, inline)
            rising = True
        elif orow < 0:
            shared, low = self.tables.check[ACT][bank]
            rising = True
        elif self.active_in_bank[bank]:
            return INF
        else:
            shared, low = self.tables.check[PRE][bank]
            rising = False
        ready = self.timing.ready
        tick, low = ready[shared], ready[low]
        if low > tick:
            tick = low
        if tick < t:                                # (self._edge(tick, t - 1, rising), inline)
            tick = t
        if rising and self.hbm3 and not tick & 1:
            tick += 1
        return tick

    def _mode_switch_due(self) -> bool:
        """Will the next queue pick switch between serving reads and writes (with work to do)?"""
        w, r = self.writes.size, self.reads.size
        if self.write_mode:
            return w < self.lo_mark and r != 0
        return w > 0 and (w > self.hi_mark or r == 0)

    def _next_wake(self, t: int) -> float:
        """The first tick after ``t`` at which some queued command could issue.

        Uses min_b max(U, L_b) = max(U, min_b L_b): per group, the shared part U
        once and the smallest per-bank part L over the banks of a candidate set
        (cached in the set, and recomputed only if it could beat the best so far).
        Activated requests: the top of their heap, once its key is brought up to date.
        """
        soon = self.next_refresh
        ready = self.timing.ready
        first = INF
        heap = self.active
        while heap:                                     # make the top's key exact: then it is the minimum
            key, order, req = heap[0]
            if not req.active:
                heappop(heap)
                continue
            v, u = ready[req.col_low], ready[req.col_shared]
            if u > v:
                v = u
            if v == key:
                first = v
                break
            heapreplace(heap, (v, order, req))
        self.active_ready = first
        hbm3 = self.hbm3
        if first < soon:                                # (self._edge(first, t, True), inline)
            tick = first if first > t else t + 1
            if hbm3 and not tick & 1:
                tick += 1
            if tick < soon:
                soon = tick
        if self.priority:
            return min(soon, self._refresh_wake(t))
        if self._mode_switch_due():
            # A tick that served only active requests (single bus) or only a REF did not run the
            # queue pick that switches modes; it runs at the next tick.
            return min(soon, t + 1)
        queue = self.writes if self.write_mode else self.reads
        if not queue.size:
            return soon
        for cands in queue.all_kinds:
            if not cands.count:
                continue
            low_min, exact, rising_only = cands.low_min, cands.exact, cands.rising_only
            for g, shared, banks in cands.groups:
                if not banks:
                    continue
                up, low = ready[shared], low_min[g]
                if up >= soon or low >= soon:           # the tick is at least max(up, low)
                    continue
                if not exact[g]:                        # the bound may decide: make it exact
                    low = INF                           # (the exact minimum over the set)
                    for off in banks.values():
                        if ready[off] < low:
                            low = ready[off]
                    low_min[g] = low
                    exact[g] = True
                    if low >= soon:
                        continue
                tick = up if up > low else low          # first tick > t at or after both, odd if rising_only
                if tick <= t:
                    tick = t + 1
                if rising_only and not tick & 1:
                    tick += 1
                if tick < soon:
                    soon = tick
        return soon

    def _refresh_wake(self, t: int) -> float:
        if self.pending:                    # the deferred updates of PREA/REF entries
            self._apply_later()
        scope = self.priority[0]
        per = self.tables.banks_per_scope
        if any(self.open_row[b] >= 0 for b in range(scope * per, scope * per + per)):
            if self.active_in_scope[scope]:
                return INF          # the active requests' column commands wake us
            return self._edge(self.timing.earliest_scope(PREA, scope), t, False)
        return self._edge(self.timing.earliest_scope(REF, scope), t, True)

    def _edge(self, ready: float, t: int, rising_only: bool) -> float:
        """First tick >= ready and > t on which the command may issue."""
        tick = ready if ready > t else t + 1
        if self.hbm3 and rising_only and not tick & 1:
            tick += 1
        return tick

