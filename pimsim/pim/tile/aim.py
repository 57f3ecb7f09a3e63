"""Tile-level model of GDDR6-AiM kernels: the ISR streams of :mod:`pimsim.pim.kernels.aim` in closed form.

Each instruction kind advances the timeline by a formula over the device's
rules (``lat(a, b)``: the tightest spacing from command a to command b):

* a switch between register instructions (WR_GB, WR_BIAS, RD_MAC) and bank
  instructions costs a TMOD at the tick the next command would be legal, and
  tMODCH after it;
* ``WR_GB n`` / ``WR_BIAS`` x S: n (S) writes spaced ``lat(WRGB, WRGB)``;
* ``MAC_ABK n`` on a new row: PREA at ``max(last MAC + tRTP, last ACT16 + tRAS)``,
  ACT16 after tRP, the first MAC16 after tRCD_MAC, then n-1 more at tCCD_L;
  S of them cost ``first + (S-1) * (max(tRCD_MAC + (n-1) tCCD_L + tRTP, tRAS) + tRP)``;
* ``RD_MAC`` x S: blocking, so the DMA decodes the next one only after the
  read completes: one per ``max(lat(RDMAC16, RDMAC16), CL_REG + BL + 1)`` ticks;
* ``EWMUL n``: like MAC_ABK with tRCD_EWMUL and the write-recovery close;
* ``EOC``: completes the tick after the last instruction's completion is seen.

Repeated groups and chunks are extrapolated (:func:`~pimsim.pim.tile.common.repeat`).
"""

from __future__ import annotations

from pimsim.pim.kernels import aim as kaim
from pimsim.pim.tile.common import Lat, Timeline, refresh_walk, repeat

REGISTER = ("WRGB", "WRMAC16", "RDMAC16", "RDAF16")
ONE_ROW = 1 << 41           # the V row every round uses when there is one round of one-row heads


class AimTile:
    """Closed-form timing of AiM instruction segments on one (representative) channel."""

    def __init__(self, tables, track: bool = False):
        self.track = track                # record refresh windows (needed with refresh on)
        self.lat = Lat(tables)
        self.tables = tables
        self.rd_latency = tables.latency[tables.cmd["RDMAC16"]]

    def start(self) -> Timeline:
        return Timeline(windows=[] if self.track else None, silences=[] if self.track else None)

    def earliest(self, st: Timeline, cmd: str) -> int:
        lat = self.lat
        when = max(st.t, st.ready)
        for kind, tick in st.last.items():
            gap = lat(kind, cmd)
            if gap and tick + gap > when:
                when = tick + gap
        return when

    def _mode(self, st: Timeline, cmd: str) -> None:
        register = cmd in REGISTER
        if st.mode != register:
            tick = st.issue("TMOD", self.earliest(st, cmd))
            st.silence(tick, tick + self.lat("TMOD", cmd))
            st.mode = register

    def burst(self, st: Timeline, cmd: str, n: int) -> int:
        """n commands of one kind back to back; returns the tick of the last."""
        self._mode(st, cmd)
        first = self.earliest(st, cmd)
        last = first + (n - 1) * max(self.lat(cmd, cmd), 1)
        st.issue(cmd, last, n)
        done = last + self.tables.latency[self.tables.cmd[cmd]]
        if cmd not in ("RDMAC16", "RDAF16") and done > st.end:
            st.end = done
        return last

    def open_row(self, st: Timeline, row: int, first_cmd: str) -> int | None:
        """Open ``row`` in all banks (PREA first if another is open); the ACT16 tick, None if already open."""
        if st.open_row == row:
            return None
        self._mode(st, first_cmd)
        if st.open_row >= 0:
            st.issue("PREA", self.earliest(st, "PREA"))
        act = st.issue("ACT16", self.earliest(st, "ACT16"))
        st.open_row = row
        return act

    def bank_op(self, st: Timeline, cmd: str, n: int, row: int) -> None:
        """One MAC_ABK / EWMUL / EWADD_BK of n columns on ``row``."""
        act = self.open_row(st, row, cmd)
        last = self.burst(st, cmd, n)
        first = last - (n - 1) * max(self.lat(cmd, cmd), 1)
        st.burst_span(first - self.lat("ACT16", cmd) if act is None else act, last)

    def read_out(self, st: Timeline, count: int) -> None:
        """``count`` blocking RD_MACs, each waiting for the previous one's completion."""
        self._mode(st, "RDMAC16")
        first = self.earliest(st, "RDMAC16")
        period = max(self.lat("RDMAC16", "RDMAC16"), self.rd_latency + 1)
        last = first + (count - 1) * period
        st.issue("RDMAC16", last, count)
        st.ready = last + self.rd_latency + 1

    def eoc(self, st: Timeline) -> int:
        """Ticks until EOC completes (the simulator's cycle count)."""
        head = max(st.t, st.ready)
        return max(head + 1, st.end + 1) + 1

    # -- kernels ------------------------------------------------------------------
    def gemv(self, plan, batch: int = 1) -> Timeline:
        def group(st, g_rows, n, new_rows=True):
            self.burst(st, "WRMAC16", g_rows)

            def one(s):
                self.bank_op(s, "MAC16", n, row=s.counts.get("ACT16", 0) + 1)
                return s
            st = repeat(st, g_rows, one)
            self.read_out(st, g_rows)
            return st

        def chunk(st, r):
            n = plan.chunk_cols(r)
            self.burst(st, "WRGB", n)
            if plan.groups > 1:
                st = repeat(st, plan.groups - 1, lambda s: group(s, plan.group_rows, n))
            return group(st, plan.last_group_rows, n)

        def vector(st):
            if plan.chunks > 1:
                st = repeat(st, plan.chunks - 1, lambda s: chunk(s, 0))
            return chunk(st, plan.chunks - 1)
        return repeat(self.start(), batch, vector)

    def elementwise(self, plan, op: str) -> Timeline:
        cmd = "EWMUL16" if op == "mul" else "EWADD16"

        def step(st, n):
            self.bank_op(st, cmd, n, row=st.counts.get("ACT16", 0) + 1)
            return st
        st = repeat(self.start(), plan.rows - 1, lambda s: step(s, plan.cols_per_row))
        return step(st, plan.cols_last)

    def score(self, seq, heads, head_dim, channels, batch=1, repeat_heads=1) -> Timeline:
        geo = kaim.score_geometry(seq, heads, head_dim, channels)

        def head(st, row):
            self.burst(st, "WRMAC16", 1)
            self.bank_op(st, "MAC16", geo["head_cols"], row)
            self.read_out(st, 1)
            return st

        def one_pass(st, row_index):
            in_row = min(geo["heads_per_row"], heads - row_index * geo["heads_per_row"])
            q_cols = -(-min(kaim.ROW_ELEMS, heads * head_dim - row_index * kaim.ROW_ELEMS) // kaim.COL_ELEMS)
            row = st.counts.get("ACT16", 0) + 1          # a row no earlier pass used
            for _ in range(repeat_heads):
                self.burst(st, "WRGB", q_cols)
                st = repeat(st, in_row, lambda s: head(s, row))
            return st

        def vector(st):
            for row_index in range(geo["rows_per_token"]):
                st = repeat(st, geo["passes"], lambda s, ri=row_index: one_pass(s, ri))
            return st
        return repeat(self.start(), batch, vector)

    def context(self, seq, heads, head_dim, channels, batch=1, repeat_heads=1) -> Timeline:
        geo = kaim.context_geometry(seq, heads, head_dim, channels)
        rows, slots = geo["rows_per_seq"], geo["slots"]
        same_rows = rows == 1 and slots == 1          # then a round's repeats reread one open row

        def slot(st, cols, row):
            self.burst(st, "WRMAC16", 1)
            self.bank_op(st, "MAC16", cols, row=row if same_rows else st.counts.get("ACT16", 0) + 1)
            self.read_out(st, 1)
            return st

        def offset(st, cols, row):
            self.burst(st, "WRGB", cols)
            return repeat(st, slots, lambda s: slot(s, cols, row))

        def one_head(st, row):
            full = rows - 1
            st = repeat(st, full, lambda s: offset(s, 64, row))
            last = -(-(seq - full * kaim.ROW_ELEMS) // kaim.COL_ELEMS)
            return offset(st, last, row)

        def rnd(st):
            row = ONE_ROW if geo["rounds"] == 1 else st.counts.get("ACT16", 0) + 1
            return repeat(st, repeat_heads, lambda s: one_head(s, row))

        return repeat(self.start(), batch * geo["rounds"], rnd)

    # -- refresh ------------------------------------------------------------------
    def finish(self, st: Timeline, refresh: bool, cmd: str = "MAC16") -> tuple[int, int]:
        """(ticks until EOC, refreshes per channel) with refresh on or off."""
        ticks = self.eoc(st)
        if not refresh:
            return ticks, 0
        lat = self.lat
        cost = lat("PREA", "REF") + lat("REF", "ACT16")
        refi = self.tables.cycles["tREFI"] * self.tables.tpc
        return refresh_walk(st, ticks, refi, cost, lat("PREA", "REF") + 1)

