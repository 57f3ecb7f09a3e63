"""AttAcc's bank-group GEMV layout: DRAM rows rotate over the unit's banks, row switches hidden.

AttAcc's trace generator (scale-snu/attacc_simulator c600051,
``pim_ramulator_src/trace_gen/gen_trace_attacc_bg.py``) walks a head's MACs in
order and fills one 32-column DRAM row after another, each in the next bank of
the bank group (``bank = (column // 32) % 4``, ``row = column // 128``): while a
unit MACs a row in bank b, banks b+1 .. b+3 already hold their rows open, and
bank b's next row is opened while the others are read, so no row switch stalls
the MACs (its controller issues the ACT/PRE of later requests early).

Here the same layout on pimsim's GEMV plans: the unit's (row, chunk) pieces, in
stream order (group, chunk, row), are packed ``slots`` to a DRAM row; DRAM row
s of the sequence is in bank ``s mod 4`` at row ``base + s // 4``. The
in-order stream opens the first four rows up front, and after leaving bank b
it closes bank b and opens its next row a few MACs into the next row's burst
(``prefetch_after``: late enough that neither command waits, early enough that
the row is open three bursts later). Input fills and read-outs are those of the
group-major layout (:mod:`pimsim.pim.kernels.host`).
"""

from __future__ import annotations

from pimsim.pim.kernels.plans import _ceil


def _rule(tables, a: str, b: str) -> int:
    """Largest rule latency from ``a`` to ``b`` on the same banks (ticks)."""
    ia, ib = tables.cmd[a], tables.cmd[b]
    return max([lat for level in tables.rules for f, lat, w, sib in level[ia] if f == ib and w == 1 and not sib]
               or [0])


def prefetch_after(layout) -> tuple[int, int]:
    """MACs of the next burst after which the previous bank is closed, and after which it is reopened."""
    t = layout.tables
    spacing = max(_rule(t, layout.mac, layout.mac), 1)
    close = _ceil(_rule(t, layout.mac, layout.closer), spacing)
    return close, close + _ceil(_rule(t, layout.closer, layout.opener), spacing)


def geometry(layout, plan, pieces: int = 1) -> tuple[int, int]:
    """(pieces of the stream, DRAM-row segments) of ``pieces`` GEMVs of ``plan``."""
    row_cols = layout.spec.dram.organisation.row_bytes // layout.spec.dram.organisation.access_bytes
    slots = max(1, row_cols // (plan.cols_full if plan.chunks > 1 else plan.cols_last))
    total = pieces * plan.rows_per_unit * plan.chunks
    return slots, _ceil(total, slots)


#: events of :func:`stream_order`
FILL, ROW, MACS, READ = range(4)


def stream_order(plan, pieces: int, slots: int):
    """The rotating layout's stream in order, as ``(event, segment, count)``: ``(FILL, 0, n)`` when the
    input chunk of ``n`` columns is (re)loaded, ``(ROW, s, 0)`` when DRAM row ``s`` of the sequence
    begins, ``(MACS, s, n)`` for one (row, chunk) piece's ``n`` MACs in row ``s``, ``(READ, 0, size)``
    at the end of a group of ``size`` rows. The command stream and the tile walk both follow it."""
    p = 0
    for _ in range(pieces):
        for g in range(plan.groups):
            size = plan.group_size(g)
            for r in range(plan.chunks):
                n = plan.chunk_cols(r)
                if plan.chunks > 1 or (g == 0 and r == 0):
                    yield FILL, 0, n
                for _ in range(size):
                    s, first = divmod(p, slots)
                    if first == 0 and s > 0:             # a new DRAM row, in the next bank
                        yield ROW, s, 0
                    yield MACS, s, n
                    p += 1
            yield READ, 0, size


def gemv_requests(layout, plan, pieces: int = 1, base_row: int = 0) -> list[tuple]:
    """The request stream of ``pieces`` GEMVs of ``plan`` on one channel, in the rotating layout."""
    banks = layout.unit_banks
    slots, segments = geometry(layout, plan, pieces)
    mac, closer, opener = layout.cmd(layout.mac), layout.cmd(layout.closer), layout.cmd(layout.opener)
    fill = (layout.cmd(layout.fill), layout.stream_key, -1)
    read = (layout.cmd(layout.read), layout.stream_key, -1)
    k_close, k_open = prefetch_after(layout)

    def row_of(s):
        return base_row + s // banks

    out = [r for s in range(min(banks, segments)) for r in ((closer, layout.mac_key(s), -1),
                                                            (opener, layout.mac_key(s), row_of(s)))]
    pending: list[tuple] = []
    done = 0
    for event, s, n in stream_order(plan, pieces, slots):
        if event == FILL:
            out += [fill] * n
        elif event == ROW:
            out += pending
            pending, done = _prefetch(layout, s - 1, segments, row_of), 0
        elif event == MACS:
            key = layout.mac_key(s % banks)
            for _ in range(n):
                out.append((mac, key, row_of(s)))
                done += 1
                if pending and done in (k_close, k_open):
                    out.append(pending.pop(0))
        else:
            out += [read] * layout.reads_per_group(n)
    return out + pending


def _prefetch(layout, prev: int, segments: int, row_of) -> list[tuple]:
    """Close the bank of segment ``prev`` and open its next row (if the stream uses it again)."""
    nxt = prev + layout.unit_banks
    if nxt >= segments:
        return []
    key = layout.mac_key(prev % layout.unit_banks)
    return [(layout.cmd(layout.closer), key, -1), (layout.cmd(layout.opener), key, row_of(nxt))]
