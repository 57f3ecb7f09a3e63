"""CENT's attention layout on GDDR6-AiM: the instruction streams CENT's trace emitter writes.

Source: Yufeng98/CENT 8c79786, ``cent_simulation/TransformerBlock.py``
(``Vector_Matrix_Mul_score_pim_only_trace``, ``Vector_Matrix_Mul_output_pim_only_trace``,
``store_for_EWMUL_score_only_trace``, ``load_from_EWMUL_score_only_trace``) and
``cent_simulation/Llama.py`` (``trace_only``: the softmax between score and context).

One sequence of L tokens, H query heads and KV key/value heads of d elements
(``rep = H / KV`` query heads per key head) on a *channel group* of C channels
(CENT: one transformer block); G groups of the device run the same stream in
lockstep (CENT's channel masks cover every block of the device, ``32 // C * C``
channels, and its plain memory lines are written for each of them).

Data layout (every bank of the group uses the same row numbers):

* **K**: token t in bank ``t mod 16C`` of the group (channel ``(t mod 16C) // 16``);
  the keys of all KV heads of a token fill ``R_K = ceil(KV d / 1024)`` rows of
  its bank, ``1024 // d`` heads to a row; token pass ``p = t // 16C`` uses rows
  ``p R_K .. p R_K + R_K - 1``.
* **V**: key head h on channel ``h // ceil(KV / C)`` (a channel holds
  ``ceil(KV / C)`` heads, one after another); dimension e of the head in bank
  ``e mod 16`` (``d / 16`` dimensions per bank, one row set each), 1024 tokens
  to a row.
* **scores**: query head h's L scores in bank group ``(h // n) mod 4`` of channel
  ``h // (4 n)`` (``n = ceil(H / 4C)`` heads per bank group, one after another),
  1024 to a row; bank 0 holds the operand, bank 1 the scale vector, bank 2 the
  EWMUL result.

Streams (``WR_GB``, ``MAC_ABK`` ... to all G C channels through the mask):

* score: per K row index r, token pass p and repeat: ``WR_GB 64`` (the q of the
  row's heads), then per head slot of the row (always ``1024 // d``):
  ``WR_BIAS``, ``MAC_ABK d/16`` on row ``p R_K + r`` (a row hit after the
  first), ``RD_MAC``;
* scale pass (after the score): the scores and the scale vector go back into
  banks 0 and 1 (``W MEM``, one 32 B burst per line, one line per DMA tick for
  the whole device), one ``EWMUL`` per score row, the results read from bank 2
  (``R MEM``), ``SYNC``; the normalise pass (before the context) does the same
  with exp(scores) and 1 / sum;
* context: per key head of the channel, repeat and 1024-token row:
  ``WR_GB`` of the probabilities, then per dimension slot (``d / 16``):
  ``WR_BIAS``, ``MAC_ABK`` (a new row each), ``RD_MAC``.

Departures from the emitter: CENT's ``MAC_ABK`` of a score head and its
dimension loop of the context use ``d // 16`` (head dimensions not a multiple of
16 lose their tail); here ``ceil(d / 16)``. The masks of the last token pass
(CENT: ``32 // left_channels * left_channels`` channels) are the group's
channels, which changes no time.
"""

from __future__ import annotations

import dataclasses

from pimsim.pim.isr import Isr, mask_of

ROW_ELEMS = 1024            # FP16 per 2 KB row
COL_ELEMS = 16              # FP16 per 32 B column
BANKS = 16


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclasses.dataclass(frozen=True)
class CentAttention:
    """Geometry of CENT's attention layout for one sequence (see the module docstring)."""

    seq: int
    heads: int              # H, query heads
    kv_heads: int           # KV
    head_dim: int           # d
    channels: int           # C, channels of one group
    groups: int = 1         # G, groups in lockstep on the device

    @property
    def repeat(self) -> int:
        return self.heads // self.kv_heads

    @property
    def head_cols(self) -> int:
        return _ceil(self.head_dim, COL_ELEMS)

    @property
    def heads_per_row(self) -> int:
        return max(1, ROW_ELEMS // self.head_dim)

    @property
    def k_rows_per_token(self) -> int:
        return _ceil(self.kv_heads * self.head_dim, ROW_ELEMS)

    @property
    def passes(self) -> int:
        return _ceil(self.seq, BANKS * self.channels)

    @property
    def seq_rows(self) -> int:
        """Rows of 1024 tokens (V rows per dimension slot, score rows per head)."""
        return _ceil(self.seq, ROW_ELEMS)

    def row_cols(self, k: int) -> int:
        return _ceil(min(ROW_ELEMS, self.seq - k * ROW_ELEMS), COL_ELEMS)

    @property
    def v_heads_per_channel(self) -> int:
        return _ceil(self.kv_heads, self.channels)

    @property
    def score_heads_per_bank(self) -> int:
        return _ceil(self.heads, 4 * self.channels)

    def score_banks(self, j: int, bgi: int) -> list[int]:
        """Banks of the group (0 .. 16C-1) holding score slot j in bank ``bgi`` of their bank group."""
        out = []
        n = self.score_heads_per_bank
        for bank in range(bgi, BANKS * self.channels, 4):
            if (bank // 4) * n + j > self.heads - 1:
                break
            out.append(bank)
        return out

    def rows(self) -> tuple[int, int, int]:
        """Rows per bank of K, V and the score buffers (the capacity the layout needs)."""
        k = self.k_rows_per_token * self.passes
        v = self.v_heads_per_channel * self.head_cols * self.seq_rows
        s = self.score_heads_per_bank * self.seq_rows
        return k, v, s

    def bases(self) -> tuple[int, int, int]:
        k, v, _ = self.rows()
        return 0, k, k + v


def _mask(geo: CentAttention, nchannels: int) -> int:
    return mask_of(range(geo.channels * geo.groups), nchannels)


def score_gemv(geo: CentAttention, mask: int) -> list[Isr]:
    body = []
    per_row = geo.heads_per_row
    for r in range(geo.k_rows_per_token):
        for p in range(geo.passes):
            row = p * geo.k_rows_per_token + r
            for _ in range(geo.repeat):
                body.append(Isr("WR_GB", opsize=ROW_ELEMS // COL_ELEMS, mask=mask))
                for _ in range(per_row):
                    body += [Isr("WR_BIAS", mask=mask), Isr("MAC_ABK", opsize=geo.head_cols, mask=mask, row=row),
                             Isr("RD_MAC", mask=mask)]
    return body


def context_gemv(geo: CentAttention, mask: int) -> list[Isr]:
    body = []
    base = geo.bases()[1]
    slots = geo.head_cols
    for h in range(geo.v_heads_per_channel):
        head_base = base + h * slots * geo.seq_rows
        for _ in range(geo.repeat):
            for k in range(geo.seq_rows):
                cols = geo.row_cols(k)
                body.append(Isr("WR_GB", opsize=cols, mask=mask))
                for slot in range(slots):
                    body += [Isr("WR_BIAS", mask=mask),
                             Isr("MAC_ABK", opsize=cols, mask=mask, row=head_base + slot * geo.seq_rows + k),
                             Isr("RD_MAC", mask=mask)]
    return body


def score_lines(geo: CentAttention, op: str, bgi: int) -> list[Isr]:
    """The plain memory lines of one store (``W_MEM``) or load (``R_MEM``) of the scores."""
    out = []
    base = geo.bases()[2]
    c, g = geo.channels, geo.groups
    for k in range(geo.seq_rows):
        bursts = geo.row_cols(k)
        for j in range(geo.score_heads_per_bank):
            row = base + j * geo.seq_rows + k
            block = [Isr(op, channel=bank // BANKS + c * grp, bank=bank % BANKS, row=row)
                     for bank in geo.score_banks(j, bgi) for grp in range(g)]
            out += block * bursts
    return out


def lines_per_store(geo: CentAttention) -> int:
    """Plain memory lines of one store or load of the scores (all groups)."""
    cols = sum(geo.row_cols(k) for k in range(geo.seq_rows))
    return cols * geo.groups * sum(len(geo.score_banks(j, 0)) for j in range(geo.score_heads_per_bank))


def ewmuls(geo: CentAttention, mask: int) -> list[Isr]:
    base = geo.bases()[2]
    return [Isr("EWMUL", opsize=geo.row_cols(k), mask=mask, row=base + j * geo.seq_rows + k)
            for j in range(geo.score_heads_per_bank) for k in range(geo.seq_rows)]


def softmax_pass(geo: CentAttention, mask: int) -> list[Isr]:
    """Operands to banks 0 and 1, EWMUL, results from bank 2, SYNC (one of CENT's two softmax passes)."""
    return (score_lines(geo, "W_MEM", 0) + score_lines(geo, "W_MEM", 1) + ewmuls(geo, mask)
            + score_lines(geo, "R_MEM", 2) + [Isr("SYNC")])


def score_isrs(geo: CentAttention, nchannels: int, batch: int = 1) -> list[Isr]:
    """q.K^T, then the scale pass, for each of ``batch`` sequences."""
    mask = _mask(geo, nchannels)
    return (score_gemv(geo, mask) + softmax_pass(geo, mask)) * batch + [Isr("EOC")]


def context_isrs(geo: CentAttention, nchannels: int, batch: int = 1) -> list[Isr]:
    """The normalise pass, then p.V, for each of ``batch`` sequences."""
    mask = _mask(geo, nchannels)
    return (softmax_pass(geo, mask) + context_gemv(geo, mask)) * batch + [Isr("EOC")]
