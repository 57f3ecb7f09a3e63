"""Tile-level model of CENT's attention layout (:mod:`pimsim.pim.kernels.aim_cent`) in closed form.

The score and context GEMVs reuse :class:`~pimsim.pim.tile.aim.AimTile`'s
segments (buffer fill, WR_BIAS, MAC_ABK on a new or open row, blocking RD_MAC).
A softmax pass is timed by the instruction DMA, which issues one plain memory
line per tick for the whole device:

* each store or load of the scores takes, per block of lines (one 32 B burst of
  every bank that holds scores, in every group), ``max(W, tCCD * q)`` ticks:
  W lines at one per tick, unless a channel receives q lines faster than it can
  write them (a channel group of one channel, or very few heads);
* the EWMULs of channel 0 start when its last operand write allows a PREA (or
  when the DMA reaches them) and run back to back, each on a new row
  (PREA, ACT16, tRCD_EWMUL, one EWMUL16 per column);
* the loads start once channel 0 has finished its EWMULs (a channel accepts plain
  requests only with no AiM request queued); the SYNC after them completes when
  the last read's data is back.

Command counts of a pass differ between channels (the last channel of a group
may hold fewer score heads), so they are kept per group (``Timeline.group_counts``).
"""

from __future__ import annotations

from pimsim.pim.kernels import aim_cent as kc
from pimsim.pim.tile.common import repeat

SOMEWHERE = 1 << 40         # a row no kernel uses: after a pass the banks hold rows the next MAC_ABK must close


def _add(st, counts: dict) -> None:
    for key, n in counts.items():
        if n:
            st.group_counts[key] = st.group_counts.get(key, 0) + n


def _phase_ticks(tile, geo, cmd: str, start: int = 0) -> tuple[int, bool]:
    """(DMA ticks, paced by a channel?) of one store (WR) or load (RD) of the scores.

    A block of W lines takes W ticks unless a channel cannot write (read) its q lines in them
    (``tCCD q > W``): then that channel paces the lines, and each new row costs it the close,
    activation and tRCD its queue no longer hides (``start``: the same for the phase's first row).
    """
    lat = tile.lat
    spacing = lat(cmd, cmd)
    switch = lat(cmd, "PRE") + lat("PRE", "ACT") + lat("ACT", cmd)
    ticks, paced, first = 0, False, True
    for k in range(geo.seq_rows):
        bursts = geo.row_cols(k)
        for j in range(geo.score_heads_per_bank):
            nb = len(geo.score_banks(j, 0))
            w, q = nb * geo.groups, min(4, nb)
            ticks += bursts * max(w, spacing * q)
            if spacing * q > w:
                ticks += max(0, (start if first else switch) - spacing * q)
                paced = True
            first = False
    return ticks, paced


def _channel_lines(nb: int, c: int) -> int:
    """Score banks of channel c in a block of nb banks (the holders are a prefix, four per channel)."""
    return max(0, min(4, nb - 4 * c))


def _last_access(tile, geo, cmd: str, first: int, q: int, new_row: bool, earliest_pre: int) -> int:
    """Tick of a channel's last access (WR or RD) of a block whose first line reaches it at ``first``:
    on open rows one per line, on new rows after PRE (not before ``earliest_pre``), ACT per bank
    (tRRD apart) and tRCD."""
    if not new_row:
        return first + (q - 1) * max(geo.groups, tile.lat(cmd, cmd))
    return max(first, earliest_pre) + tile.lat("PRE", "ACT") + (q - 1) * tile.lat.param("tRRD_L") + \
        tile.lat("ACT", cmd)


def _ends_on_new_rows(geo) -> bool:
    """Is the last block of a store/load the first of its rows (and those rows not already open)?"""
    return geo.row_cols(geo.seq_rows - 1) == 1 and geo.score_heads_per_bank * geo.seq_rows > 1


def pass_counts(geo, banks_open: bool) -> tuple[dict, int]:
    """Plain-request commands of one softmax pass on one group, and the channels whose first EWMUL
    needs a PREA (``banks_open``: every bank had a row open when the pass began)."""
    n_ewmul = geo.score_heads_per_bank * geo.seq_rows
    out = {"WR": 0, "RD": 0, "ACT": 0, "PRE": 0}
    prea = 0
    for c in range(geo.channels):
        v = [_channel_lines(len(geo.score_banks(j, 0)), c) for j in range(geo.score_heads_per_bank)]
        touched = sum(v) * geo.seq_rows
        lines = sum(v) * sum(geo.row_cols(k) for k in range(geo.seq_rows))
        out["WR"] += 2 * lines
        out["RD"] += lines
        out["ACT"] += 2 * touched + (touched if n_ewmul > 1 else 0)
        out["PRE"] += 2 * (touched - (0 if banks_open else v[0])) + (touched if n_ewmul > 1 else 0)
        prea += banks_open or (n_ewmul > 1 and v[0] > 0)
    return out, prea


def _paced(st, start: int, end: int) -> None:
    """A refresh falling in a channel-paced phase delays it by its whole cost: the phase is a burst
    the refresh waits for, and an empty window right after it is where the refresh lands."""
    st.burst_span(start, end)
    st.burst_span(end + 1, end + 1)


def _stores(tile, geo, st, t0: int, banks_open: bool) -> int:
    """Both stores from ``t0`` (TMOD first if in register mode); the tick the DMA reaches the EWMULs."""
    lat = tile.lat
    opened = (lat("TMOD", "WR") if st.mode else 0) + (lat("PRE", "ACT") if banks_open else 0)
    if st.mode:                                   # plain requests are bank commands: one TMOD per channel
        st.issue("TMOD", t0)
        st.silence(t0, t0 + lat("TMOD", "WR"))
        st.mode = False
    first, paced = _phase_ticks(tile, geo, "WR", opened + lat("ACT", "WR"))
    t_a = t0 + first + _phase_ticks(tile, geo, "WR")[0]
    if paced:
        _paced(st, t0, t_a - 1)
    return t_a


def _ewmuls(tile, geo, st, t_a: int, banks_open: bool) -> int:
    """Channel 0's EWMULs, each on a new row; returns the tick of the last EWMUL16."""
    lat = tile.lat
    nb = len(geo.score_banks(geo.score_heads_per_bank - 1, 0))
    q = _channel_lines(nb, 0)
    first = t_a - nb * geo.groups
    last_wr = _last_access(tile, geo, "WR", first, q, _ends_on_new_rows(geo),
                           first - nb * geo.groups + lat("WR", "PRE"))
    n_ewmul = geo.score_heads_per_bank * geo.seq_rows
    if banks_open or n_ewmul > 1:
        prea = st.issue("PREA", max(t_a, last_wr + lat("WR", "PREA")), 0)
        act = prea + lat("PREA", "ACT16")
    else:                                         # banks 0 and 1 hold the EWMUL row, the rest are closed
        act = max(t_a, last_wr + 1)
    last = act
    for i, cols in enumerate([geo.row_cols(k) for k in range(geo.seq_rows)] * geo.score_heads_per_bank):
        if i:
            prea = st.issue("PREA", max(last + lat("EWMUL16", "PREA"), act + lat("ACT16", "PREA")), 0)
            act = prea + lat("PREA", "ACT16")
        st.issue("ACT16", act, 0)
        last = act + lat("ACT16", "EWMUL16") + (cols - 1) * lat("EWMUL16", "EWMUL16")
        st.burst_span(act, last)
    st.issue("EWMUL16", last, sum(geo.row_cols(k) for k in range(geo.seq_rows)) * geo.score_heads_per_bank)
    st.counts["ACT16"] = st.counts.get("ACT16", 0) + n_ewmul
    return last


def _loads(tile, geo, st, t_c: int) -> int:
    """The loads from ``t_c``; returns the tick of the last read."""
    lat = tile.lat
    miss = lat("EWMUL16", "PRE") + lat("PRE", "ACT") + lat("ACT", "RD") \
        if geo.score_heads_per_bank * geo.seq_rows > 1 else 0
    load, paced = _phase_ticks(tile, geo, "RD", miss)
    end = t_c + load - 1
    if paced:
        _paced(st, t_c, end)
    if not _ends_on_new_rows(geo):
        return end
    nb = len(geo.score_banks(geo.score_heads_per_bank - 1, 0))
    c_last = (nb - 1) // 4
    first = t_c + load - nb * geo.groups + 4 * c_last * geo.groups
    return max(end, _last_access(tile, geo, "RD", first, _channel_lines(nb, c_last), True, first))


def softmax_pass(tile, st, geo):
    """One of CENT's two softmax passes (stores, EWMULs, loads, SYNC); advances ``st``."""
    banks_open = st.open_row >= 0
    counts, preas = pass_counts(geo, banks_open)
    counts["PREA"] = preas + geo.channels * (geo.score_heads_per_bank * geo.seq_rows - 1)
    t_a = _stores(tile, geo, st, max(st.t, st.ready), banks_open)
    last = _ewmuls(tile, geo, st, t_a, banks_open)
    read = _loads(tile, geo, st, last + 1)
    st.issue("RD", read, 0)
    done = read + tile.tables.latency[tile.tables.cmd["RD"]] + 1        # the SYNC sees the last data
    _add(st, counts)
    st.ready = done + 1
    st.end = max(st.end, done)
    st.open_row = SOMEWHERE
    return st


def score(tile, geo, batch: int = 1):
    """q.K^T in CENT's layout, then the scale pass, for ``batch`` sequences."""
    def head(st, row):
        tile.burst(st, "WRMAC16", 1)
        tile.bank_op(st, "MAC16", geo.head_cols, row)
        tile.read_out(st, 1)
        return st

    def one_pass(st):
        row = st.counts.get("ACT16", 0) + 1          # a row no earlier pass used
        for _ in range(geo.repeat):
            tile.burst(st, "WRGB", kc.ROW_ELEMS // kc.COL_ELEMS)
            st = repeat(st, geo.heads_per_row, lambda s: head(s, row))
        return st

    def vector(st):
        for _ in range(geo.k_rows_per_token):
            st = repeat(st, geo.passes, one_pass)
        return softmax_pass(tile, st, geo)
    return repeat(tile.start(), batch, vector)


def context(tile, geo, batch: int = 1):
    """The normalise pass, then p.V in CENT's layout, for ``batch`` sequences."""
    def slot(st, cols):
        tile.burst(st, "WRMAC16", 1)
        tile.bank_op(st, "MAC16", cols, row=st.counts.get("ACT16", 0) + 1)
        tile.read_out(st, 1)
        return st

    def offset(st, cols):
        tile.burst(st, "WRGB", cols)
        return repeat(st, geo.head_cols, lambda s: slot(s, cols))

    def head(st):
        full = geo.seq_rows - 1
        st = repeat(st, full, lambda s: offset(s, kc.ROW_ELEMS // kc.COL_ELEMS))
        return offset(st, geo.row_cols(full))

    def vector(st):
        st = softmax_pass(tile, st, geo)
        return repeat(st, geo.v_heads_per_channel * geo.repeat, head)
    return repeat(tile.start(), batch, vector)
