"""Tile-level model of host-issued PIM kernels (HBM-PIM, AttAcc): the streams of
:mod:`pimsim.pim.kernels.host` in closed form.

The kernel is a nest of identical blocks: pieces (heads x sequences) > groups
of rows > input chunks > DRAM sub-rows > columns. A block

1. closes and reopens the rows of every bank set it uses — each close at
   ``max(last MAC + tRTP, last ACT + tRAS)``, each open tRP later (per bank set,
   so rotating banks overlap their activations);
2. fills the input buffer (n writes at the buffer's write spacing);
3. runs n columns of MACs over its rows: one column step costs the MAC
   spacing (``tCCD_AB``/``tCCD_SB`` for all-bank and same-bank units, tCCD_L
   per HBM-PIM pseudo-channel, BL/tCCD_S/tCCD_L for buffer-die units depending
   on how the step's banks alternate), evaluated once and multiplied;
4. after a group: reads the results out (HBM-PIM: mode switch, then one
   RDGRF per unit and row; AttAcc: one MVSB per 16 results).

Every spacing comes from the device's compiled rules between the two commands
and the banks they touch (:class:`KeyLat`). Repeats are extrapolated by their
steady-state period (:func:`~pimsim.pim.tile.common.repeat`).
"""

from __future__ import annotations

from pimsim.pim.kernels.host import HostLayout, block_keys
from pimsim.pim.kernels.plans import host_rows_per_bank
from pimsim.pim.tile.common import Timeline, refresh_walk, repeat


class KeyLat:
    """Rule latency from (command a on key ka) to (command b on key kb), in ticks."""

    def __init__(self, tables):
        self.tables = tables
        self._cache: dict = {}
        self._nodes: dict = {}
        self._to: dict = {}            # (cmd, key) -> {(earlier cmd, key): latency}
        self.horizon = 2 * max(lat for level in tables.rules for rules in level for _, lat, _, _ in rules)

    def nodes(self, key):
        found = self._nodes.get(key)
        if found is None:
            found = self._nodes[key] = [set(level) for level in self.tables._nodes(key)]
        return found

    def __call__(self, a: str, ka, b: str, kb) -> int:
        k = (a, ka, b, kb)
        found = self._cache.get(k)
        if found is None:
            t = self.tables
            ia, ib = t.cmd[a], t.cmd[b]
            na, nb = self.nodes(ka), self.nodes(kb)
            found = max([lat for j, level in enumerate(t.rules) if na[j] & nb[j]
                         for f, lat, w, sib in level[ia] if f == ib and w == 1 and not sib] or [0])
            self._cache[k] = found
        return found

    def earliest(self, st: Timeline, cmd: str, key) -> int:
        """Earliest tick at or after ``st.t`` that ``cmd`` on ``key`` may issue after ``st``'s commands."""
        when = st.t
        to = self._to.get((cmd, key))
        if to is None:
            to = self._to[(cmd, key)] = {}
        for ck, tick in st.last.items():
            gap = to.get(ck)
            if gap is None:
                gap = to[ck] = self(ck[0], ck[1], cmd, key)
            if gap and tick + gap > when:
                when = tick + gap
        return when

    def record(self, st: Timeline, cmd: str, key, tick: int, n: int) -> None:
        """Enter ``n`` commands ``cmd`` on ``key``, the last at ``tick``, into ``st``."""
        st.last[(cmd, key)] = tick
        st.counts[cmd] = st.counts.get(cmd, 0) + n
        st.t = max(st.t, tick + 1)
        done = tick + self.tables.latency[self.tables.cmd[cmd]]
        if done > st.end:
            st.end = done
        if len(st.last) > 64:                 # forget commands no rule can reach any more
            horizon = st.t - self.horizon
            st.last = {k: v for k, v in st.last.items() if v > horizon}


class HostTile:
    """Closed-form timing of one host-issued stream."""

    def __init__(self, spec, track: bool = False):
        self.track = track
        self.spec = spec
        self.layout = HostLayout(spec)
        self.tables = spec.tables()
        self.lat = KeyLat(self.tables)
        ms = spec.arch.mode_switch
        self.mode_cmd = ms.command if ms else None
        self.register = set(ms.register) if ms else set()
        t = self.tables
        self.scopes = 1 if spec.arch.architecture == "hbm-pim" else t.counts[t.scope_level]
        self._memo: dict = {}

    def start(self) -> Timeline:
        return Timeline(windows=[] if self.track else None, silences=[] if self.track else None)

    # -- primitives --------------------------------------------------------------------
    def earliest(self, st: Timeline, cmd: str, key) -> int:
        return self.lat.earliest(st, cmd, key)

    def issue(self, st: Timeline, cmd: str, key, n: int = 1, spacing: int = 0) -> int:
        """n commands ``cmd`` on ``key``; returns the tick of the last."""
        if self.mode_cmd is not None and (cmd in self.register) != st.mode:
            tick = self.earliest(st, cmd, key)
            tick = max(tick, self.earliest(st, self.mode_cmd, key))
            self._record(st, self.mode_cmd, key, tick, 1)
            st.silence(tick, tick + self.lat(self.mode_cmd, key, cmd, key))
            st.mode = cmd in self.register
        first = self.earliest(st, cmd, key)
        gap = max(spacing or self.lat(cmd, key, cmd, key), 1)
        last = first + (n - 1) * gap
        self._record(st, cmd, key, last, n)
        return last

    def _record(self, st: Timeline, cmd: str, key, tick: int, n: int) -> None:
        self.lat.record(st, cmd, key, tick, n)

    def open_block(self, st: Timeline, keys: list) -> int | None:
        """Close (where open) and reopen a new row in every distinct bank set; returns the last open tick."""
        lay = self.layout
        distinct = self._distinct(tuple(keys))
        if not distinct:
            return None
        for k in distinct:
            if self._any_open(st.opened, k):
                self.issue(st, lay.closer, k)
        last = st.t
        for k in distinct:
            last = self.issue(st, lay.opener, k)
        st.opened = self._union(st.opened, distinct)
        return last

    def _distinct(self, keys: tuple) -> tuple:
        found = self._memo.get(("distinct", keys))
        if found is None:
            found = self._memo[("distinct", keys)] = tuple(dict.fromkeys(keys))
        return found

    def _union(self, opened: frozenset, keys: tuple) -> frozenset:
        found = self._memo.get(("union", opened, keys))
        if found is None:
            found = self._memo[("union", opened, keys)] = opened | frozenset(keys)
        return found

    def _any_open(self, opened: frozenset, key) -> bool:
        """Does a bank set with an open row share a bank with ``key``? (memoised)"""
        found = self._memo.get(("open", opened, key))
        if found is None:
            banks = set(self.tables.banks(key))
            found = any(banks & set(self.tables.banks(k)) for k in opened)
            self._memo[("open", opened, key)] = found
        return found

    def macs(self, st: Timeline, keys: list, n: int, opened: int) -> None:
        """n column steps, each one MAC per key (in order), on rows opened at tick ``opened``."""
        if not keys:
            return
        mac = self.layout.mac
        if len(set(keys)) == 1:                  # all-bank units: one burst of identical commands
            last = self.issue(st, mac, keys[0], n * len(keys))
            st.burst_span(opened, last)
            return

        for k in keys:                           # the first column waits for the activations
            self.issue(st, mac, k)
        if n > 1:
            period = self._column_period(tuple(keys))
            shift = (n - 1) * period
            for k in set(keys):
                st.last[(mac, k)] += shift
            st.t += shift
            st.end += shift
            st.counts[mac] += (n - 1) * len(keys)
        st.burst_span(opened, st.t - 1)

    def _column_period(self, keys: tuple) -> int:
        """Steady-state ticks per column step of MACs over ``keys`` (only the MAC-to-MAC rules bind)."""
        found = self._memo.get(("period", keys))
        if found is None:
            mac = self.layout.mac
            st = Timeline()
            starts = []
            for _ in range(3):
                starts.append(self.earliest(st, mac, keys[0]))
                for k in keys:
                    self.issue(st, mac, k)
            found = self._memo[("period", keys)] = starts[2] - starts[1]
        return found

    # -- kernels ---------------------------------------------------------------------------
    def gemv(self, plan, batch: int = 1, pieces: int = 1) -> Timeline:
        lay = self.layout
        if lay.rotating:
            from pimsim.pim.tile import host_rotating

            return host_rotating.gemv(self, plan, batch, pieces)
        _, slots, sub_rows = host_rows_per_bank(plan, self.spec)

        def chunk(st, g, r, size):
            n = plan.chunk_cols(r)
            for sub in range(sub_rows):
                keys = block_keys(lay, size, slots, sub)
                opened = self.open_block(st, keys)
                if sub == 0 and (plan.chunks > 1 or (g == 0 and r == 0)):
                    self.issue(st, lay.fill, lay.stream_key, n)
                self.macs(st, keys, n, opened)
            return st

        def group(st, g, size):
            if plan.chunks > 1:
                st = repeat(st, plan.chunks - 1, lambda s: chunk(s, g, 0, size))
            st = chunk(st, g, plan.chunks - 1, size)
            self.issue(st, lay.read, lay.stream_key, lay.reads_per_group(size))
            return st

        def piece(st):
            st = group(st, 0, plan.group_size(0))
            if plan.groups > 2:
                st = repeat(st, plan.groups - 2, lambda s: group(s, 1, plan.group_rows))
            if plan.groups > 1:
                st = group(st, plan.groups - 1, plan.last_group_rows)
            return st
        return repeat(self.start(), batch * pieces, piece)

    def elementwise(self, plan, op: str) -> Timeline:
        lay = self.layout
        key = lay.stream_key
        regs = self.spec.compute.buffer // self.spec.dram.organisation.access_bytes

        def row(st, cols):
            opened = self.open_block(st, [key])
            for first in range(0, cols, regs):
                k = min(regs, cols - first)
                for cmd in ("EWFILL", "EWOP", "EWMOV"):
                    self.issue(st, cmd, key, k)
            st.burst_span(opened, st.t - 1)
            return st
        st = repeat(self.start(), plan.rows - 1, lambda s: row(s, plan.cols_per_row))
        return row(st, plan.cols_last)

    def finish(self, st: Timeline, refresh: bool) -> tuple[int, int]:
        """(ticks until the last command completes, refreshes per stream)."""
        ticks = max(st.end, st.t)
        if not refresh:
            return ticks, 0
        lay = self.layout
        k = lay.mac_key(0)
        ref_key = (0,) + (None,) * (len(self.tables.levels) - 2)
        lat = self.lat
        rp = lat("PREA", ref_key, "REF", ref_key)
        cost = rp + lat("REF", ref_key, lay.opener, k)
        if lay.rotating:
            from pimsim.pim.tile import host_rotating

            cost += host_rotating.refresh_cost(self)
        return refresh_walk(st, ticks, self.tables.cycles["tREFI"] * self.tables.tpc, cost, rp + 1)
