"""AiM instructions (ISRs): the trace format CENT's emitter writes, parsed into records.

One line per instruction, fields separated by spaces, numbers decimal or
``0x`` hex, ``#`` as the first token for a comment, blank lines skipped; the
trace ends with ``AiM EOC``. ``AiM <OP>`` lines carry only the fields legal for
OP, in the fixed order ``opsize GPR0 GPR1 channel_mask bank row col thread``
(:data:`ISR_FIELDS`). ``R|W MEM <channel> <bank 0..15> <row>`` is one 32 B
access; ``R|W GPR <id>`` and ``W CFR <id> <data>`` touch no DRAM.

Channel masks: bit *i* (LSB = 0) selects channel ``channels - 1 - i`` (CENT
writes the mask as a binary string with channel 0 first).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pimsim.core.errors import TraceError, did_you_mean

#: op -> fields in trace order (after "AiM <OP>")
ISR_FIELDS = {
    "WR_SBK": ("gpr0", "mask", "bank", "row"), "RD_SBK": ("gpr0", "mask", "bank", "row"),
    "WR_GB": ("opsize", "gpr0", "mask"), "WR_BIAS": ("gpr0", "mask"), "RD_MAC": ("gpr0", "mask"),
    "RD_AF": ("gpr0", "mask"), "COPY_BKGB": ("opsize", "mask", "bank", "row"),
    "COPY_GBBK": ("opsize", "mask", "bank", "row"), "MAC_SBK": ("opsize", "mask", "bank", "row"),
    "MAC_ABK": ("opsize", "mask", "row"), "AF": ("mask",), "EWMUL": ("opsize", "mask", "row"),
    "EWADD": ("opsize", "gpr0", "gpr1"), "SYNC": (), "EOC": (),
    # pimsim extension (not in CENT's set): element-wise add in the banks, fields as EWMUL
    "EWADD_BK": ("opsize", "mask", "row"),
}
#: op -> (DRAM command per column, bank span, blocking); None = no DRAM work (EWADD: CENT adds in the controller)
ISR_COMMANDS = {
    "WR_GB": ("WRGB", "none", False), "WR_BIAS": ("WRMAC16", "none", False), "RD_MAC": ("RDMAC16", "none", True),
    "RD_AF": ("RDAF16", "none", True), "COPY_BKGB": ("RDCP", "bank", False), "COPY_GBBK": ("WRCP", "bank", False),
    "MAC_SBK": ("MAC", "bank", False), "MAC_ABK": ("MAC16", "all", False), "AF": ("AF16", "all", False),
    "EWMUL": ("EWMUL16", "all", False), "EWADD_BK": ("EWADD16", "all", False), "EWADD": None,
    "WR_SBK": ("WR", "bank", False), "RD_SBK": ("RD", "bank", False),
}
#: the row AF16 opens: the activation-function look-up table (aim_simulator: 2^29 + AFM)
AF_LUT_ROW = 1 << 29


@dataclasses.dataclass(frozen=True)
class Isr:
    """One trace line: an AiM instruction, a plain memory access (R/W MEM) or a no-DRAM access (GPR/CFR)."""

    op: str                 # AiM op, or "R_MEM", "W_MEM", "GPR", "CFR"
    opsize: int = 1
    mask: int = 0
    bank: int = -1
    row: int = -1
    channel: int = -1       # R/W MEM only
    cfr: tuple[int, int] | None = None

    def channels(self, nchannels: int) -> list[int]:
        """Channels the instruction goes to (SYNC/EOC: all)."""
        if self.op in ("SYNC", "EOC"):
            return list(range(nchannels))
        if self.op in ("R_MEM", "W_MEM"):
            return [self.channel]
        return [nchannels - 1 - i for i in range(nchannels) if self.mask >> i & 1]

    def line(self) -> str:
        """The instruction as a trace line."""
        if self.op in ("R_MEM", "W_MEM"):
            return f"{self.op[0]} MEM {self.channel} {self.bank} {self.row}"
        values = {"opsize": self.opsize, "gpr0": 0, "gpr1": 0, "mask": f"0x{self.mask:x}", "bank": self.bank,
                  "row": self.row}
        return " ".join(["AiM", self.op] + [str(values[f]) for f in ISR_FIELDS[self.op]])


def mask_of(channels, nchannels: int = 32) -> int:
    """Channel mask selecting ``channels`` (bit i = channel nchannels-1-i)."""
    mask = 0
    for ch in channels:
        mask |= 1 << (nchannels - 1 - ch)
    return mask


def _number(token: str, where: str) -> int:
    try:
        return int(token, 16) if token.lower().startswith("0x") else int(token)
    except ValueError:
        raise TraceError(f"'{token}' is not a number", where) from None


def parse_line(tokens: list[str], where: str) -> Isr:
    """One trace line (already split) as an :class:`Isr`."""
    kind = tokens[0]
    if kind == "AiM":
        if len(tokens) < 2:
            raise TraceError("'AiM' needs an instruction name", where)
        op = tokens[1].removeprefix("ISR_")
        if op not in ISR_FIELDS:
            raise TraceError(f"unknown AiM instruction '{op}'{did_you_mean(op, ISR_FIELDS)}", where)
        fields = ISR_FIELDS[op]
        if len(tokens) - 2 != len(fields):
            raise TraceError(f"AiM {op} takes {len(fields)} field(s) ({' '.join(fields) or 'none'}), "
                             f"got {len(tokens) - 2}", where)
        values = {f: _number(t, where) for f, t in zip(fields, tokens[2:])}
        return Isr(op, opsize=max(values.get("opsize", 1), 1), mask=values.get("mask", 0) & 0xFFFFFFFF,
                   bank=values.get("bank", -1), row=values.get("row", -1))
    if kind in ("R", "W") and len(tokens) >= 2:
        region = tokens[1]
        if region == "MEM" and len(tokens) == 5:
            ch, bank, row = (_number(t, where) for t in tokens[2:])
            return Isr(f"{kind}_MEM", channel=ch, bank=bank, row=row)
        if region == "GPR" and len(tokens) == 3:
            return Isr("GPR")
        if region == "CFR" and kind == "W" and len(tokens) == 4:
            return Isr("CFR", cfr=(_number(tokens[2], where), _number(tokens[3], where)))
    raise TraceError(f"cannot read '{' '.join(tokens)}' (expected 'AiM <OP> ...', 'R|W MEM ch bank row', "
                     "'R|W GPR id' or 'W CFR id data')", where)


def read_isr_trace(path) -> list[Isr]:
    """Parse an AiM trace file; it must end with ``AiM EOC`` (lines after it are ignored, as CENT's simulator does)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise TraceError(f"cannot read trace: {exc.strerror or exc}", str(path)) from None
    return parse_isr_lines(text.splitlines(), str(path))


def parse_isr_lines(lines, name: str = "trace") -> list[Isr]:
    isrs = []
    for number, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        isr = parse_line(tokens, f"{name}:{number}")
        isrs.append(isr)
        if isr.op == "EOC":
            return isrs
    raise TraceError("the trace does not end with 'AiM EOC'", name)


def write_isr_trace(isrs, path) -> Path:
    from pimsim.core.io import atomic_write_text

    return atomic_write_text(Path(path), "".join(i.line() + "\n" for i in isrs))
