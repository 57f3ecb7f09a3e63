"""NeuPIMs attention kernels: per-request KV layouts and the PIM command streams that read them.

Every request's KV cache lives whole in one channel (NeuPIMs places requests on
channels); a channel runs its requests one after another. Rows are 1 KB
(``E = row_bytes / 2`` = 512 FP16), a channel has ``B`` = 32 banks.

K (score ``q . K^T``)
    One bank row holds one token's keys of ``E / head_dim`` heads (4 x 128);
    the 32 banks hold 32 consecutive tokens, so a *tile* (one row address in
    every bank) is 32 tokens x 4 heads. Per request: for each ``E``-element
    chunk of q (``ceil(heads x head_dim / E)``): GWRITE the chunk into the
    global buffer, then per tile (``ceil(L / 32)``) open the row (8 G_ACTs)
    and, for each head of the chunk, ``head_dim / 16`` COMPs and a READRES
    (the 32 tokens' scores of that head).
V (context ``p . V``)
    One bank row holds 512 consecutive tokens of one (head, dimension); the 32
    banks hold 32 dimensions, so ``head_dim / 32`` tiles cover a head per
    512-token chunk. Per request, head and 512-token chunk: GWRITE the chunk's
    softmax scores, then per tile open the row and run ``ceil(tokens / 16)``
    COMPs (32 for a full chunk) and a READRES. A context of 20 tokens costs
    the same tiles as one of 512: the cost is quantised to 512 tokens.

Grouped-query attention keeps these streams (each query head runs its own
COMPs on the rows of its KV head); only the KV rows shrink.

The stream of one request is a list of ``(command, key, row)`` requests for
:class:`~pimsim.pim.engine.HostChannel`; the tile model
(:mod:`pimsim.pim.tile.neupims`) times the same plan in closed form.
"""

from __future__ import annotations

import dataclasses

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.pim.kernels.plans import _ceil, check_positive

QUERY_ROW = 0          # the row of bank 0 the NPU writes q / the softmax scores to, for GWRITE


@dataclasses.dataclass(frozen=True)
class RequestPlan:
    """One request's score or context kernel on one channel."""

    kind: str               # "score" | "context"
    seq: int
    heads: int
    kv_heads: int
    head_dim: int
    row_elems: int          # E: elements per bank row (and per global-buffer fill)
    banks: int              # banks per channel (tokens per score tile, dimensions per context tile)
    lanes: int              # multipliers per bank (elements per COMP)

    @property
    def chunks(self) -> int:
        """Score: q chunks of E elements; context: 512-token chunks of the context."""
        if self.kind == "score":
            return _ceil(self.heads * self.head_dim, self.row_elems)
        return _ceil(self.seq, self.row_elems)

    def groups(self) -> list[tuple[int, int, list[int]]]:
        """(GWRITEs, tiles, COMPs per READRES within one tile) blocks, in program order."""
        if self.kind == "score":
            per_chunk = self.row_elems // self.head_dim
            tiles = _ceil(self.seq, self.banks)
            comps = self.head_dim // self.lanes
            out = []
            for r in range(self.chunks):
                heads = min(per_chunk, self.heads - r * per_chunk)
                out.append((1, tiles, [comps] * heads))
            return out
        tiles = _ceil(self.head_dim, self.banks)
        out = []
        for c in range(self.chunks):
            tokens = min(self.row_elems, self.seq - c * self.row_elems)
            out.append((1, tiles, [_ceil(tokens, self.lanes)]))
        return out * self.heads if self.heads > 1 else out

    def blocks(self) -> list[tuple[int, list[int], int]]:
        """The plan as (tiles, COMPs per READRES, repetitions) blocks, identical blocks merged."""
        merged: list[list] = []
        for _, tiles, comps in self.groups():
            if merged and merged[-1][0] == tiles and merged[-1][1] == comps:
                merged[-1][2] += 1
            else:
                merged.append([tiles, comps, 1])
        return [tuple(b) for b in merged]

    def rows_per_bank(self) -> int:
        """KV rows one request occupies in each bank of its channel (K and V together)."""
        kv_elems = self.kv_heads * self.head_dim
        k_rows = _ceil(self.seq, self.banks) * _ceil(kv_elems, self.row_elems)
        v_rows = _ceil(self.seq, self.row_elems) * _ceil(kv_elems, self.banks)
        return k_rows + v_rows


def request_plan(spec, kind: str, seq: int, heads: int, head_dim: int, kv_heads: int | None = None) -> RequestPlan:
    """Lay out one request; raises ConfigError for shapes the layout cannot hold."""
    kv = heads if kv_heads is None else kv_heads
    check_positive(seq=seq, heads=heads, head_dim=head_dim, kv_heads=kv)
    if heads % kv:
        raise ConfigError(f"heads ({heads}) must be a multiple of kv_heads ({kv})")
    org = spec.dram.organisation
    row_elems = org.row_bytes // spec.elem_bytes
    lanes = spec.compute.lanes
    banks = spec.dram.banks_per_channel
    if head_dim > row_elems or row_elems % head_dim or head_dim % lanes:
        raise ConfigError(f"head_dim {head_dim} must divide the {row_elems}-element row of {spec.name} and be a "
                          f"multiple of its {lanes} multipliers")
    return RequestPlan(kind, seq, heads, kv, head_dim, row_elems, banks, lanes)


def check_fits(spec, plan: RequestPlan, requests_per_channel: int) -> None:
    rows = plan.rows_per_bank() * requests_per_channel + 1          # + the query row
    if rows > spec.dram.organisation.rows:
        raise CapacityError(f"the KV cache of {requests_per_channel} request(s) of {plan.seq} tokens needs {rows} "
                            f"rows per bank but a bank of {spec.name} has {spec.dram.organisation.rows}", "shape")


class Layout:
    """Command indices and target keys of one NeuPIMs channel."""

    def __init__(self, spec):
        t = spec.tables()
        self.spec, self.tables = spec, t
        sizes = t.sizes                                   # pseudo-channels, bank groups, banks
        # G_ACTs alternate pseudo-channels (NewtonSim's ranks) so the two tFAW chains overlap
        self.groups = [(pc, bg, None) for bg in range(sizes[1]) for pc in range(sizes[0])]
        self.all = tuple(None for _ in sizes)
        self.bank0 = tuple(0 for _ in sizes)
        self.mac = spec.compute.mac_command
        self.fused = self.mac == "COMPS"                  # NeuPIMs COMPS_READRES: one transaction per head
        self.cmd = t.cmd

    def issued(self, counts: dict) -> int:
        """PIM transactions the NPU pushes for these command counts (headers, GWRITEs, READRES, COMPs)."""
        headers = counts.get("GACT", 0) // len(self.groups)
        n = counts.get("GWRITE", 0) + headers + counts.get("READRES", 0)
        return n if self.fused else n + counts.get(self.mac, 0)


def request_stream(layout: Layout, plan: RequestPlan, base_row: int) -> list[tuple]:
    """The ``(command, key, row)`` requests of one request's kernel, its tiles from ``base_row`` on."""
    c = layout.cmd
    out: list[tuple] = []
    row = base_row
    for _, tiles, comps in plan.groups():
        out.append((c["GWRITE"], layout.bank0, QUERY_ROW))
        for _ in range(tiles):
            out += [(c["GPRE"], k, -1) for k in layout.groups]
            out += [(c["GACT"], k, row) for k in layout.groups]
            out += [(c["GACT"], k, row) for k in layout.groups]   # no-ops unless a refresh closed rows
            for n in comps:
                out += [(c[layout.mac], layout.all, row)] * n + [(c["READRES"], None, -1)]
            row += 1
    return out
