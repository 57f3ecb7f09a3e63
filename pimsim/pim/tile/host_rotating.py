"""Tile-level model of AttAcc's rotating bank-group layout (:mod:`pimsim.pim.kernels.host_rotating`).

The stream is walked one DRAM-row burst at a time (not one command at a time):
each burst is one to three runs of MACs at the unit spacing, split where the
previous bank's close and reopen are slipped in; fills and read-outs go in
between as in the group-major model. Every command group is placed at its
earliest tick by the same compiled rules as the command level
(:meth:`~pimsim.pim.tile.host.HostTile.issue`), so a burst too short to hide a
row switch stalls here as it does there. A whole GEMV stream is one repetition
for :func:`~pimsim.pim.tile.common.repeat` (batches).

Refresh: the command level refreshes at the first non-MAC command after one
falls due (a close or open slipped into a burst, a fill, a read-out): it closes
the rows of every refresh scope, refreshes them one after another, and the
stream then reopens on the spot the bank being read and the banks already
opened ahead. The MACs between two such commands are one burst for
:func:`~pimsim.pim.tile.common.refresh_walk` (a refresh due in it lands at the
next of them), and the other scopes and the reopenings are added to the detour
(:func:`refresh_cost`).
"""

from __future__ import annotations

from pimsim.pim.kernels.host_rotating import FILL, MACS, ROW, geometry, prefetch_after, stream_order
from pimsim.pim.tile.common import repeat


class _Walk:
    """One channel's stream being walked: the MAC burst under way and the close/open still to slip in."""

    def __init__(self, tile, plan, pieces: int):
        self.tile, self.lay = tile, tile.layout
        self.slots, self.segments = geometry(self.lay, plan, pieces)
        self.k_close, self.k_open = prefetch_after(self.lay)
        self.pending, self.stops, self.done, self.start = [], [], 0, 0

    def open_first_rows(self, st) -> None:
        lay, tile = self.lay, self.tile
        for s in range(min(lay.unit_banks, self.segments)):
            key = lay.mac_key(s)
            if tile._any_open(st.opened, key):
                tile.issue(st, lay.closer, key)
            tile.issue(st, lay.opener, key)
            st.opened = tile._union(st.opened, (key,))
        self.pending, self.stops, self.done, self.start = [], [], 0, st.t

    def other(self, st, cmd, key, n: int = 1) -> None:
        """A command that is not a MAC: the MAC burst before it ends (a refresh can come here)."""
        st.burst_span(self.start, st.t - 1)
        self.tile.issue(st, cmd, key, n)
        self.start = st.t

    def new_row(self, st, s: int) -> None:
        """DRAM row s begins (in bank s mod 4): finish the last slip-ins, plan bank s-1's reopening."""
        for cmd in self.pending:
            self.other(st, *cmd)
        lay, prev = self.lay, s - 1
        key = lay.mac_key(prev % lay.unit_banks)
        reused = prev + lay.unit_banks < self.segments
        self.pending = [(lay.closer, key), (lay.opener, key)] if reused else []
        self.stops, self.done = [self.k_close, self.k_open], 0

    def macs(self, st, key, n: int) -> None:
        """n MACs on ``key``; the pending close and open go in after their MAC counts."""
        while n:
            stop = self.stops[0] - self.done if self.pending else n
            step = min(n, stop) if stop > 0 else 0
            if step:
                self.tile.issue(st, self.lay.mac, key, step)
                self.done += step
                n -= step
            if self.pending and self.done >= self.stops[0]:
                self.other(st, *self.pending.pop(0))
                self.stops.pop(0)


def gemv(tile, plan, batch: int = 1, pieces: int = 1):
    """``pieces`` GEMVs of ``plan`` on one channel, ``batch`` times."""
    lay = tile.layout

    def whole(st):
        walk = _Walk(tile, plan, pieces)
        walk.open_first_rows(st)
        for event, s, n in stream_order(plan, pieces, walk.slots):
            if event == FILL:
                walk.other(st, lay.fill, lay.stream_key, n)
            elif event == ROW:
                walk.new_row(st, s)
            elif event == MACS:
                walk.macs(st, lay.mac_key(s % lay.unit_banks), n)
            else:
                walk.other(st, lay.read, lay.stream_key, lay.reads_per_group(n))
        for cmd in walk.pending:
            walk.other(st, *cmd)
        return st
    return repeat(tile.start(), batch, whole)


def refresh_cost(tile) -> int:
    """Extra detour of a refresh in the rotating layout: the close and refresh of the stream's other
    refresh scopes, and reopening on the spot the rows it closed in the bank being read and the two
    opened ahead of it."""
    lay = tile.layout
    k = lay.mac_key(0)
    ref_key = (0,) + (None,) * (len(tile.tables.levels) - 2)
    others = (tile.scopes - 1) * tile.lat("PREA", ref_key, "REF", ref_key)
    return others + (lay.unit_banks - 2) * tile.lat(lay.opener, k, lay.mac, k)
