"""HBM-PIM and AttAcc kernels as host-issued request streams (one representative stream).

The host controller runs the same stream on every channel (AttAcc) or pseudo-
channel (HBM-PIM); :class:`~pimsim.pim.engine.HostChannel` issues one of them.

GEMV layout (group-major; see :mod:`pimsim.pim.kernels.plans` for the split; per-bank-group
units use AttAcc's rotating layout instead, :mod:`pimsim.pim.kernels.host_rotating`)
    A unit's rows of group g are dealt over the unit's banks (HBM-PIM: even and
    odd bank; per-bank-group units: the 4 banks of the group; buffer-die units:
    the 32 banks of the pseudo-channel, bank group fastest), and in each bank
    packed ``slots = row_columns / chunk_columns`` to a DRAM row: chunk r of the
    group's rows sits in DRAM rows ``(g*R + r)*sub + s``. Per (g, r): fill the
    open the block's rows (close, then open, every bank set the block uses,
    so the activations overlap), fill the input buffer with chunk r (only once
    if R = 1), then MAC column by column across the block's rows (consecutive
    MACs alternate banks). After the last chunk: read the group's results out (HBM-PIM: one
    RDGRF per unit and row in single-bank mode; AttAcc: one MVSB per 16 results).

Element-wise (HBM-PIM): a in the even bank, b in the odd bank, z in the even
bank's upper half-row; per 8 columns: 8 EWFILL (a into GRF), 8 EWOP (b, add or
multiply), 8 EWMOV (z back).
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError
from pimsim.pim.kernels.plans import _ceil, host_rows_per_bank


class HostLayout:
    """Command names and target keys of one host-driven PIM device."""

    def __init__(self, spec):
        t = spec.tables()
        self.spec, self.tables = spec, t
        arch = spec.arch.architecture
        self.hbm_pim = arch == "hbm-pim"
        self.streams = spec.dram.organisation.pseudo_channels if self.hbm_pim else 1
        self.units = spec.units_per_channel // self.streams
        self.mac = spec.compute.mac_command
        self.fill = "WRGRF" if self.hbm_pim else "WRGB"
        self.read = "RDGRF" if self.hbm_pim else "MVSB"
        kind = spec.arch.row_kind(self.mac)
        if kind is None:
            raise ConfigError(f"{spec.name}: architecture {arch} has no host-issued GEMV kernels in pimsim.pim.api "
                              f"(its kernels: pimsim.pim.{arch.replace('-', '_')})")
        self.opener, self.closer = spec.arch.rows[kind]
        depth = len(t.levels) - 1
        self.stream_key = (0,) + (None,) * (depth - 1) if self.hbm_pim else None
        self.unit_banks = spec.banks_per_unit
        self.rotating = spec.compute.placement == "bank_group"    # AttAcc's layout: pimsim.pim.kernels.host_rotating

    def mac_key(self, bank: int):
        """Target key of a MAC on the unit's bank ``bank`` (0 .. unit_banks-1)."""
        p = self.spec.compute.placement
        if self.hbm_pim:
            return self.stream_key
        if p == "bank":
            return (None, None, None, None)
        if p == "bank_group":
            return (None, None, None, bank)
        return (None, (bank // 4) % 2, bank % 4, bank // 8)        # buffer die: bank group fastest

    def reads_per_group(self, rows: int) -> int:
        if self.hbm_pim:
            return rows * self.units
        return _ceil(rows * self.units, 16)

    def cmd(self, name: str) -> int:
        return self.tables.cmd[name]


def gemv_requests(layout: HostLayout, plan, pieces: int = 1, base_row: int = 0) -> list[tuple]:
    """The request stream of ``pieces`` GEMVs of ``plan`` one after another on one stream."""
    if layout.rotating:
        from pimsim.pim.kernels import host_rotating

        return host_rotating.gemv_requests(layout, plan, pieces, base_row)
    per_piece, slots, sub_rows = host_rows_per_bank(plan, layout.spec)
    fill = (layout.cmd(layout.fill), layout.stream_key, -1)
    out: list[tuple] = []
    for piece in range(pieces):
        row0 = base_row + piece * per_piece
        for g in range(plan.groups):
            size = plan.group_size(g)
            for r in range(plan.chunks):
                n = plan.chunk_cols(r)
                for sub in range(sub_rows):
                    keys = block_keys(layout, size, slots, sub)
                    row = row0 + (g * plan.chunks + r) * sub_rows + sub
                    out += open_requests(layout, keys, row)
                    if sub == 0 and (plan.chunks > 1 or (g == 0 and r == 0)):
                        out += [fill] * n
                    out += mac_requests(layout, keys, n, row)
            out += [(layout.cmd(layout.read), layout.stream_key, -1)] * layout.reads_per_group(size)
    return out


def block_keys(layout: HostLayout, size: int, slots: int, sub: int) -> list:
    """MAC target keys of one column step over the rows of sub-row ``sub`` (banks alternate)."""
    rows = [j for j in range(size) if (j // layout.unit_banks) // slots == sub]
    return [layout.mac_key(j % layout.unit_banks) for j in rows]


def open_requests(layout: HostLayout, keys: list, row: int) -> list[tuple]:
    """Close, then open, every distinct bank set of the block (so the activations overlap)."""
    distinct = list(dict.fromkeys(keys))
    return ([(layout.cmd(layout.closer), k, -1) for k in distinct] +
            [(layout.cmd(layout.opener), k, row) for k in distinct])


def mac_requests(layout: HostLayout, keys: list, n: int, row: int) -> list[tuple]:
    mac = layout.cmd(layout.mac)
    return [(mac, k, row) for _ in range(n) for k in keys]


def elementwise_requests(layout: HostLayout, plan, op: str) -> list[tuple]:
    """HBM-PIM element-wise add/multiply on one pseudo-channel."""
    if not layout.hbm_pim:
        raise ConfigError(f"{layout.spec.name}: AttAcc-style PIM units do GEMVs only; element-wise "
                          "operations are not part of its command set")
    key = layout.stream_key
    fill, opc, mov = layout.cmd("EWFILL"), layout.cmd("EWOP"), layout.cmd("EWMOV")
    regs = layout.spec.compute.buffer // layout.spec.dram.organisation.access_bytes
    out: list[tuple] = []
    for i in range(plan.rows):
        cols = plan.row_cols(i)
        out += open_requests(layout, [key], i)
        for start in range(0, cols, regs):
            k = min(regs, cols - start)
            out += [(fill, key, i)] * k + [(opc, key, i)] * k + [(mov, key, i)] * k
    return out
