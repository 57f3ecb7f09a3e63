"""GDDR6-AiM kernels as instruction (ISR) streams, in the layouts CENT's simulator traces use.

Every stream is broadcast to channels ``0 .. C-1`` through the channel mask and
ends with ``EOC``; a batch of B input vectors (or sequences) runs B times in a
row, one vector at a time through the global buffer.

* :func:`gemv_isrs` — CENT's "reuse-GB" GEMV (``Vector_Matrix_Mul_weight_pim``):
  bank-local row j of a bank holds W row chunks in DRAM rows ``j*R + r``; per
  1024-element chunk r of x: ``WR_GB``, then per group of S <= 32 rows:
  S x ``WR_BIAS``, S x ``MAC_ABK`` (each on a new row), S x ``RD_MAC``.
* :func:`elementwise_isrs` — ``EWMUL`` (CENT) or ``EWADD_BK`` (pimsim) per row,
  64 columns each; a, b in banks 0, 1 and z in bank 2 of every bank group.
* :func:`score_isrs` — q.K^T as CENT's ``Vector_Matrix_Mul_score_pim``: token t
  in bank ``t mod 16C``; its keys for all heads in ``ceil(h d / 1024)`` rows;
  per 1024 q elements and per 16C tokens: ``WR_GB``, then per head in that row:
  ``WR_BIAS``, ``MAC_ABK`` (d/16 columns, row hit after the first), ``RD_MAC``.
* :func:`context_isrs` — p.V with V^T in the banks: a bank holds one head
  dimension of one key/value head over 1024 tokens per row; those heads spread
  over channels (C/h channels per head, else h/C heads per channel in turn), and
  each is read once per query head that shares it (GQA); per 1024 tokens:
  ``WR_GB`` of the probabilities, then per dimension slot: ``WR_BIAS``,
  ``MAC_ABK``, ``RD_MAC``.

These are pimsim's *dense* attention layout; CENT's own is :mod:`.aim_cent`.
"""

from __future__ import annotations

from pimsim.pim.isr import Isr, mask_of

ROW_ELEMS = 1024            # FP16 per 2 KB row
COL_ELEMS = 16              # FP16 per 32 B column


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _mask(channels: int, nchannels: int) -> int:
    return mask_of(range(channels), nchannels)


def gemv_isrs(plan, nchannels: int, batch: int = 1) -> list[Isr]:
    """CENT's reuse-GB GEMV for ``plan`` (a :class:`~pimsim.pim.kernels.plans.GemvPlan`)."""
    mask = _mask(plan.channels, nchannels)
    body = []
    for r in range(plan.chunks):
        n = plan.chunk_cols(r)
        body.append(Isr("WR_GB", opsize=n, mask=mask))
        for g in range(plan.groups):
            size = plan.group_size(g)
            body += [Isr("WR_BIAS", mask=mask)] * size
            body += [Isr("MAC_ABK", opsize=n, mask=mask, row=(g * plan.group_rows + s) * plan.chunks + r)
                     for s in range(size)]
            body += [Isr("RD_MAC", mask=mask)] * size
    return body * batch + [Isr("EOC")]


def elementwise_isrs(plan, nchannels: int, op: str) -> list[Isr]:
    """One EWMUL (mul) or EWADD_BK (add) per row step."""
    mask = _mask(plan.channels, nchannels)
    name = "EWMUL" if op == "mul" else "EWADD_BK"
    return [Isr(name, opsize=plan.row_cols(i), mask=mask, row=i) for i in range(plan.rows)] + [Isr("EOC")]


def score_geometry(seq: int, heads: int, head_dim: int, channels: int) -> dict:
    """Counts of CENT's score layout (rows per token, tokens per pass, heads per row)."""
    per_row = max(1, ROW_ELEMS // head_dim)
    return {"rows_per_token": _ceil(heads * head_dim, ROW_ELEMS), "passes": _ceil(seq, 16 * channels),
            "heads_per_row": per_row, "head_cols": _ceil(head_dim, COL_ELEMS)}


def score_isrs(seq: int, heads: int, head_dim: int, channels: int, nchannels: int, batch: int = 1,
               repeat: int = 1) -> list[Isr]:
    """q.K^T for one query per sequence; ``repeat`` query heads share each key head (GQA)."""
    geo = score_geometry(seq, heads, head_dim, channels)
    mask = _mask(channels, nchannels)
    body = []
    for row_index in range(geo["rows_per_token"]):
        in_row = min(geo["heads_per_row"], heads - row_index * geo["heads_per_row"])
        q_cols = _ceil(min(ROW_ELEMS, heads * head_dim - row_index * ROW_ELEMS), COL_ELEMS)
        for p in range(geo["passes"]):
            row = p * geo["rows_per_token"] + row_index
            for _ in range(repeat):
                body.append(Isr("WR_GB", opsize=q_cols, mask=mask))
                for _ in range(in_row):
                    body += [Isr("WR_BIAS", mask=mask), Isr("MAC_ABK", opsize=geo["head_cols"], mask=mask, row=row),
                             Isr("RD_MAC", mask=mask)]
    return body * batch + [Isr("EOC")]


def context_geometry(seq: int, heads: int, head_dim: int, channels: int) -> dict:
    """Counts of the context layout: rounds of heads, dimension slots per bank, rows per sequence."""
    if channels >= heads:
        rounds, slots = 1, _ceil(head_dim, 16 * (channels // heads))
    else:
        rounds, slots = _ceil(heads, channels), _ceil(head_dim, 16)
    return {"rounds": rounds, "slots": slots, "rows_per_seq": _ceil(seq, ROW_ELEMS)}


def context_isrs(seq: int, heads: int, head_dim: int, channels: int, nchannels: int, batch: int = 1,
                 repeat: int = 1) -> list[Isr]:
    """p.V for one query per sequence; ``heads`` key/value heads, each read by ``repeat`` query heads."""
    geo = context_geometry(seq, heads, head_dim, channels)
    mask = _mask(channels, nchannels)
    body = []
    for rnd in range(geo["rounds"] * repeat):
        base = rnd // repeat * geo["rows_per_seq"] * geo["slots"]
        for off in range(geo["rows_per_seq"]):
            cols = _ceil(min(ROW_ELEMS, seq - off * ROW_ELEMS), COL_ELEMS)
            body.append(Isr("WR_GB", opsize=cols, mask=mask))
            for slot in range(geo["slots"]):
                body += [Isr("WR_BIAS", mask=mask),
                         Isr("MAC_ABK", opsize=cols, mask=mask, row=base + slot * geo["rows_per_seq"] + off),
                         Isr("RD_MAC", mask=mask)]
    return body * batch + [Isr("EOC")]


def attention_rows(seq: int, heads: int, head_dim: int, channels: int) -> tuple[int, int]:
    """Rows per bank the K and V layouts occupy."""
    s = score_geometry(seq, heads, head_dim, channels)
    c = context_geometry(seq, heads, head_dim, channels)
    return s["rows_per_token"] * s["passes"], c["rounds"] * c["rows_per_seq"] * c["slots"]

