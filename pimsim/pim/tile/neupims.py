"""Tile-level model of NeuPIMs attention kernels: the streams of :mod:`pimsim.pim.kernels.neupims` in closed form.

A request is a few blocks (a GWRITE, then ``tiles`` identical tiles), each
tile is: close the bank groups' rows (GPRE), open the new row in the 8 bank
groups (G_ACT, tFAW apart within a pseudo-channel), then per head ``n`` COMPs
one burst apart and a READRES. Every command is placed at the earliest tick
the device's compiled rules allow after the commands before it (the same
rules as the command level, looked up per command pair by :class:`KeyLat`);
repeated tiles, blocks and requests are extrapolated by their steady-state
period (:func:`~pimsim.pim.tile.common.repeat`). A tile's COMPs and READRES
are one bank burst: a refresh falling due inside it waits for the next tile.
The stretches between bursts are busy (GWRITE, precharges, G_ACTs), so a
refresh costs its whole detour; one falling due before a tile's last G_ACT
also closes the rows opened so far and the tile's G_ACT chain starts again
(:func:`~pimsim.pim.tile.common.refresh_walk` with those costs).
"""

from __future__ import annotations

from pimsim.pim.kernels.neupims import QUERY_ROW, Layout
from pimsim.pim.tile.common import Timeline, refresh_walk, repeat
from pimsim.pim.tile.host import KeyLat


class NeuPimsTile:
    """Closed-form timing of one NeuPIMs channel running requests one after another."""

    def __init__(self, spec, track: bool = False):
        self.spec, self.track = spec, track
        self.layout = Layout(spec)
        self.tables = spec.tables()
        self.lat = KeyLat(self.tables)
        self.chain = 0              # ticks from a tile's first G_ACT to its last

    def start(self) -> Timeline:
        st = Timeline(windows=[] if self.track else None, silences=[] if self.track else None)
        st.open_row = -1                     # bank 0: -1 closed, QUERY_ROW after a GWRITE, -2 a tile's KV row
        return st

    # -- primitives (as HostTile's) --------------------------------------------------------
    def earliest(self, st: Timeline, cmd: str, key) -> int:
        return self.lat.earliest(st, cmd, key)

    def issue(self, st: Timeline, cmd: str, key, n: int = 1) -> int:
        """``n`` commands ``cmd`` on ``key``, each at its earliest tick; returns the tick of the last."""
        first = self.lat.earliest(st, cmd, key)
        last = first + (n - 1) * max(self.lat(cmd, key, cmd, key), 1)
        self.lat.record(st, cmd, key, last, n)
        return last

    # -- kernel pieces ---------------------------------------------------------------------------
    def gwrite(self, st: Timeline) -> None:
        lay = self.layout
        if st.open_row != QUERY_ROW:
            if st.open_row != -1:
                self.issue(st, "PRE", lay.bank0)
            self.issue(st, "ACT", lay.bank0)
            st.open_row = QUERY_ROW
        self.issue(st, "GWRITE", lay.bank0)

    def tile(self, st: Timeline, comps: list[int]) -> Timeline:
        lay = self.layout
        for k in lay.groups:
            if k in st.opened or (k == lay.groups[0] and st.open_row != -1):
                self.issue(st, "GPRE", k)
        ticks = [self.issue(st, "GACT", k) for k in lay.groups]
        self.chain = max(self.chain, ticks[-1] - ticks[0])
        st.opened = frozenset(lay.groups)
        st.open_row = -2                     # bank 0 holds a KV row now
        for n in comps:
            self.issue(st, lay.mac, lay.all, n)
            last = self.issue(st, "READRES", None)
        st.burst_span(ticks[-1], last)
        return st

    def request(self, st: Timeline, plan) -> Timeline:
        for tiles, comps, reps in plan.blocks():
            def block(s, tiles=tiles, comps=comps):
                self.gwrite(s)
                return repeat(s, tiles, lambda x: self.tile(x, comps))
            st = repeat(st, reps, block)
        return st

    def requests(self, plan, count: int) -> Timeline:
        """``count`` requests of ``plan`` one after another on one channel."""
        return repeat(self.start(), count, lambda s: self.request(s, plan))

    def finish(self, st: Timeline, refresh: bool) -> tuple[int, int]:
        """(ticks until the last command completes, refreshes per pseudo-channel)."""
        ticks = max(st.end, st.t)
        if not refresh:
            return ticks, 0
        lay = self.layout
        scope = (0,) + (None,) * (len(self.tables.levels) - 2)
        group = lay.groups[0]
        # the windows between bursts are busy (GWRITE, GPRE, G_ACTs), not idle: a refresh costs at least its
        # PREA-REF-G_ACT detour less the precharge it replaces, and one falling due before a tile's last G_ACT
        # closes the rows opened so far, so the tile's G_ACT chain starts again after it
        least = (self.lat("PREA", scope, "REF", scope) + self.lat("REF", scope, "GACT", group)
                 - self.lat("GPRE", group, "GACT", group))
        return refresh_walk(st, ticks, self.tables.cycles["tREFI"] * self.tables.tpc, least + self.chain, least)
