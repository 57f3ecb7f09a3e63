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

from pimsim.pim.kernels.host_rotating import geometry, prefetch_after
from pimsim.pim.tile.common import repeat


def gemv(tile, plan, batch: int = 1, pieces: int = 1):
    """``pieces`` GEMVs of ``plan`` on one channel, ``batch`` times."""
    lay = tile.layout
    banks = lay.unit_banks
    slots, segments = geometry(lay, plan, pieces)
    k_close, k_open = prefetch_after(lay)

    def prefetch(prev):
        if prev + banks >= segments:
            return []
        key = lay.mac_key(prev % banks)
        return [(lay.closer, key), (lay.opener, key)]

    def other(st, walk, cmd, key, n=1):
        """A command that is not a MAC: the MAC burst before it ends (a refresh can come here)."""
        st.burst_span(walk["start"], st.t - 1)
        tile.issue(st, cmd, key, n)
        walk["start"] = st.t

    def run_macs(st, key, n, walk):
        """n MACs on ``key``; slip the pending close/open in after their MAC counts."""
        while n:
            stop = walk["stops"][0] - walk["done"] if walk["pending"] else n
            step = min(n, stop) if stop > 0 else 0
            if step:
                tile.issue(st, lay.mac, key, step)
                walk["done"] += step
                n -= step
            if walk["pending"] and walk["done"] >= walk["stops"][0]:
                other(st, walk, *walk["pending"].pop(0))
                walk["stops"].pop(0)

    def whole(st):
        for s in range(min(banks, segments)):
            key = lay.mac_key(s)
            if tile._any_open(st.opened, key):
                tile.issue(st, lay.closer, key)
            tile.issue(st, lay.opener, key)
            st.opened = tile._union(st.opened, (key,))
        walk = {"pending": [], "stops": [], "done": 0, "start": st.t}
        p = 0
        for _ in range(pieces):
            for g in range(plan.groups):
                size = plan.group_size(g)
                for r in range(plan.chunks):
                    n = plan.chunk_cols(r)
                    if plan.chunks > 1 or (g == 0 and r == 0):
                        other(st, walk, lay.fill, lay.stream_key, n)
                    for _ in range(size):
                        s, first = divmod(p, slots)
                        if first == 0 and s > 0:
                            for cmd in walk["pending"]:
                                other(st, walk, *cmd)
                            walk.update(pending=prefetch(s - 1), stops=[k_close, k_open], done=0)
                        run_macs(st, lay.mac_key(s % banks), n, walk)
                        p += 1
                other(st, walk, lay.read, lay.stream_key, lay.reads_per_group(size))
        for cmd in walk["pending"]:
            other(st, walk, *cmd)
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
