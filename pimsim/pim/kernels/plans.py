"""Data layouts of the PIM kernels, as plans both fidelities share.

A plan fixes where every weight, input and output lives and in which order
the work runs; :mod:`pimsim.pim.kernels.aim` and :mod:`pimsim.pim.kernels.host`
turn it into command streams, :mod:`pimsim.pim.tile` into a duration. Plans
check capacity: a shape whose data does not fit the banks, or whose input does
not fit the buffer the layout needs, is a :class:`CapacityError` naming the limit.

GEMV ``y[M] = W[M x K] x[K]`` (every device)
    Output row *m* of W lives whole in one PIM unit; units take rows round
    robin, so a unit holds ``P = ceil(M / units)`` rows. x is cut into chunks
    of ``kc`` elements (what the input buffer holds: 1024 on AiM, 128 on
    HBM-PIM, 512 on AttAcc); a chunk is broadcast to every unit, then each unit
    multiplies its rows' matching 32 B columns (16 FP16) into accumulators.
    Rows run in groups of ``S <= accumulators``; a group's partial sums are read
    out after each chunk (AiM, as CENT) or after the last chunk (HBM-PIM,
    AttAcc), and the host (or near-memory unit) adds the partial sums.

Element-wise ``z = a (+|x) b`` over N elements
    AiM (CENT): a and b in banks 0 and 1 of every bank group, z written to bank
    2; one command handles 16 elements per bank group (64 per channel); a row
    holds 1024 elements per bank. HBM-PIM/AttAcc: a, b and z in three
    consecutive rows of every unit's bank; one MAC-class command handles 16
    elements per unit, reading a and b into the unit and writing z back.

Attention pieces (per head, sequence of L tokens, head dimension d)
    score ``s = q . K^T`` is a GEMV with W = K (L x d: one row per token) and
    x = q; context ``o = p . V`` is a GEMV with W = V^T (d x L: one row per
    head dimension, tokens along the row) and x = the softmax probabilities p.
    On AiM the keys of all heads of one token share a bank (CENT's layout:
    ``ceil(heads*d/1024)`` rows per token, one MAC_ABK per head on the same open
    row); elsewhere heads (x sequences) spread over channels and run one after
    another on a channel.
"""

from __future__ import annotations

import dataclasses

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.core.units import format_bytes


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def check_positive(**dims) -> None:
    for name, value in dims.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive whole number, got {value!r}")


def channels_used(spec, channels: int | None) -> int:
    """The channel count a kernel runs on: all of the device's, or ``channels`` if given."""
    if channels is None:
        return spec.channels
    check_positive(channels=channels)
    if channels > spec.channels:
        raise CapacityError(f"{channels} channels requested but {spec.name} has {spec.channels}", "--channels")
    return channels


@dataclasses.dataclass(frozen=True)
class GemvPlan:
    """y[M] = W[M x K] x[K] on ``channels`` channels (see the module docstring)."""

    m: int
    k: int
    channels: int
    streams: int            # independent command streams per channel (HBM-PIM: pseudo-channels)
    units: int              # units per stream
    rows_per_unit: int      # P
    chunk: int              # kc, elements per input chunk
    chunks: int             # R
    cols_full: int          # columns of a full chunk
    cols_last: int          # columns of the last chunk
    groups: int             # G
    group_rows: int         # S
    last_group_rows: int    # rows of the last group

    def chunk_cols(self, r: int) -> int:
        return self.cols_last if r == self.chunks - 1 else self.cols_full

    def group_size(self, g: int) -> int:
        return self.last_group_rows if g == self.groups - 1 else self.group_rows

    @property
    def macs(self) -> int:
        """Multiply-adds the MAC commands perform, padding included (every lane of every unit)."""
        cols = (self.chunks - 1) * self.cols_full + self.cols_last
        return self.channels * self.streams * self.units * self.rows_per_unit * cols * 16


def gemv_plan(spec, m: int, k: int, channels: int, streams: int = 1, spread: int | None = None) -> GemvPlan:
    """Lay out a GEMV; raises CapacityError if W does not fit the banks of ``channels`` channels.

    Rows spread over every unit of ``channels`` channels, or over ``spread`` units if given
    (an attention piece confined to one stream).
    """
    check_positive(m=m, k=k)
    units = spec.units_per_channel // streams
    per_unit = _ceil(m, spread or units * streams * channels)
    chunk = spec.compute.buffer // spec.elem_bytes
    if spec.arch.architecture != "aim":
        chunk = min(chunk, spec.dram.organisation.row_bytes // spec.elem_bytes)
    chunks = _ceil(k, chunk)
    lanes = spec.compute.lanes
    groups = _ceil(per_unit, spec.compute.accumulators)
    size = _ceil(per_unit, groups)
    plan = GemvPlan(m, k, channels, streams, units, per_unit, chunk, chunks, chunk // lanes,
                    _ceil(k - (chunks - 1) * chunk, lanes), groups, size, per_unit - size * (groups - 1))
    need = m * k * spec.elem_bytes
    have = spec.dram.channel_bytes * channels
    if need > have:
        raise CapacityError(f"W[{m}x{k}] needs {format_bytes(need)} but {channels} channel(s) of {spec.name} "
                            f"hold {format_bytes(have)}", "shape")
    return plan


def host_rows_per_bank(plan: GemvPlan, spec) -> tuple[int, int, int]:
    """(rows per bank, slots per DRAM row, DRAM rows per (group, chunk)) of the host layout
    (per-bank-group units: AttAcc's rotating layout, whose pieces fill DRAM rows one after another).

    A DRAM row packs as many unit rows as their columns allow: a one-chunk plan packs its rows by the
    columns they use (an attention score row of d = 128 is 8 of a 32-column row), not by the chunk's."""
    row_cols = spec.dram.organisation.row_bytes // spec.dram.organisation.access_bytes
    if spec.compute.placement == "bank_group":
        slots = max(1, row_cols // (plan.cols_full if plan.chunks > 1 else plan.cols_last))
        return _ceil(_ceil(plan.rows_per_unit * plan.chunks, slots), spec.banks_per_unit), slots, 1
    slots = max(1, row_cols // (plan.cols_full if plan.chunks > 1 else plan.cols_last))
    sub = _ceil(_ceil(plan.group_rows, spec.banks_per_unit), slots)
    return plan.groups * plan.chunks * sub, slots, sub


def check_rows(plan_rows: int, spec, what: str) -> None:
    rows = spec.dram.organisation.rows
    if plan_rows > rows:
        raise CapacityError(f"{what} needs {plan_rows} rows per bank but a bank of {spec.name} has {rows}", "shape")


@dataclasses.dataclass(frozen=True)
class ElementwisePlan:
    """z = a op b over ``n`` elements on ``channels`` channels."""

    n: int
    channels: int
    streams: int            # independent command streams per channel
    per_column: int         # elements one column step handles per stream
    cols_per_row: int       # column steps per row of operands
    rows: int               # row steps (one ISR each on AiM)
    cols_last: int          # column steps in the last row step

    def row_cols(self, i: int) -> int:
        return self.cols_last if i == self.rows - 1 else self.cols_per_row


def elementwise_plan(spec, n: int, channels: int, streams: int = 1) -> ElementwisePlan:
    """Lay out an element-wise operation; raises CapacityError if the operands overflow their banks."""
    check_positive(n=n)
    o = spec.dram.organisation
    lanes = spec.compute.lanes
    row_cols = o.row_bytes // o.access_bytes
    if spec.arch.architecture == "aim":          # 16 elements per bank group per command
        per_col, cols, banks_used = lanes * o.bank_groups, row_cols, "banks 0, 1 and 2 of every bank group"
    else:                                        # 16 elements per unit per column; a|z share the even bank's row
        per_col, cols, banks_used = lanes * spec.units_per_channel // streams, row_cols // 2, "every bank"
    per_row = per_col * cols * channels * streams
    rows = _ceil(n, per_row)
    last = _ceil(n - (rows - 1) * per_row, per_col * channels * streams)
    if rows > o.rows:
        raise CapacityError(f"a, b and z of {n} elements need {rows} rows in {banks_used} of {channels} "
                            f"channel(s), but a bank of {spec.name} has {o.rows} rows", "shape")
    return ElementwisePlan(n, channels, streams, per_col, cols, rows, last)
