"""All-bank refresh of a channel controller (:mod:`pimsim.dram.controller`).

When a refresh falls due, every refresh scope of the channel joins the priority
queue; its head blocks ordinary requests until its banks are closed (PREA) and
it is refreshed (REF). :class:`Refresh` is a mixin of
:class:`~pimsim.dram.controller.ChannelController` and uses its state.

The controller defers the timing updates of ready entries that only PREA and
REF read (``ChannelController._later``): they are applied here, before a
refresh decision reads those entries.
"""

from __future__ import annotations

from pimsim.dram.family import CMD

PREA, REF = CMD["PREA"], CMD["REF"]


class Refresh:
    """Refresh scheduling of a channel controller (state: the controller's)."""

    __slots__ = ()

    def _refresh_due(self, t: int) -> None:
        """Queue every scope for refresh once per tREFI that has passed by tick ``t``."""
        while t >= self.next_refresh:
            self.priority.extend(range(self.tables.nscopes))
            self.stats.refresh_requested += self.tables.nscopes
            self.next_refresh += self.refi

    def _apply_later(self) -> None:
        """Apply the deferred updates (see ``_later``); before PREA/REF entries are read."""
        ready, later = self.timing.ready, self._later
        for slot, t in self.pending.items():
            for off, lat in later[slot]:
                v = t + lat
                if ready[off] < v:
                    ready[off] = v
        self.pending.clear()

    def _try_refresh(self, t: int, rising: bool) -> None:
        """Serve the head of the refresh queue: close the scope's banks, then REF."""
        if self.pending:
            self._apply_later()
        scope = self.priority[0]
        per = self.tables.banks_per_scope
        banks = range(scope * per, scope * per + per)
        if any(self.open_row[b] >= 0 for b in banks):
            if self.active_in_scope[scope] or self.timing.earliest_scope(PREA, scope) > t:
                return
            if not rising and not self._falling_pre_ok(PREA, scope, -1, t):
                return
            self._issue(PREA, scope, t, scope=True)
            for b in banks:
                if self.open_row[b] >= 0:
                    self._row_closed(b, t)
            cmd = PREA
        else:
            if not rising or self.timing.earliest_scope(REF, scope) > t:
                return
            self._issue(REF, scope, t, scope=True)
            self.priority.pop(0)
            cmd = REF
        if self.hbm3 and rising:
            self.pair = (cmd, scope, -1, t + 1)
