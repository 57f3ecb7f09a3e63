"""Quantities with units: the one place where text such as ``"14ns"`` becomes a number.

Every quantity in a YAML file carries its unit as a string. This module parses
them into pimsim's base units:

=============  =========================  ============================
kind           accepted units             result
=============  =========================  ============================
time           ps ns us ms s              int picoseconds (exact)
size           B KB MB GB TB KiB MiB ...  int bytes (bits: b, Kb, Gbit)
bits           bit b (and Kbit ...)       int bits
bandwidth      B/s KB/s ... GiB/s Gbit/s  float bytes per second
frequency      Hz kHz MHz GHz             float hertz
rate           T/s MT/s GT/s              float transfers per second
energy         fJ pJ nJ uJ mJ J           float joules
energy_per_bit fJ/bit pJ/bit ... (also /B) float joules per bit
energy_per_op  pJ/op pJ/FLOP pJ/MAC       float joules per operation
power          uW mW W kW                 float watts
flops          FLOPS GFLOPS TFLOPS POPS   float operations per second
=============  =========================  ============================

Decimal prefixes are powers of 1000 (GB = 1e9 B); binary prefixes powers of 1024
(GiB = 2**30 B). A bare number where a unit is needed is an error, as is a time
that is not a whole number of picoseconds.
"""

from __future__ import annotations

import re
from fractions import Fraction

from pimsim.core.errors import UnitError

_DEC = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _build_table() -> dict[str, tuple[str, Fraction]]:
    t: dict[str, tuple[str, Fraction]] = {}
    for name, ps in (("ps", 1), ("ns", 10**3), ("us", 10**6), ("µs", 10**6), ("ms", 10**9), ("s", 10**12)):
        t[name] = ("time", Fraction(ps))
    for p, f in list(_DEC.items()) + list(_BIN.items()):
        t[f"{p}B"] = ("size", Fraction(f))
        for bit in ("bit", "b"):
            if not (p == "" and bit == "b"):
                t[f"{p}{bit}"] = ("size", Fraction(f, 8))
        t[f"{p}B/s"] = ("bandwidth", Fraction(f))
        t[f"{p}bit/s"] = ("bandwidth", Fraction(f, 8))
        t[f"{p}bps"] = ("bandwidth", Fraction(f, 8))
    t["b"] = ("size", Fraction(1, 8))
    for p in ("", "k", "M", "G"):
        t[f"{p}Hz"] = ("frequency", Fraction(_DEC[p]))
        t[f"{p}T/s"] = ("rate", Fraction(_DEC[p]))
    for name, j in (("fJ", Fraction(1, 10**15)), ("pJ", Fraction(1, 10**12)), ("nJ", Fraction(1, 10**9)),
                    ("uJ", Fraction(1, 10**6)), ("mJ", Fraction(1, 10**3)), ("J", Fraction(1))):
        t[name] = ("energy", j)
        t[f"{name}/bit"] = ("energy_per_bit", j)
        t[f"{name}/b"] = ("energy_per_bit", j)
        t[f"{name}/B"] = ("energy_per_bit", j / 8)
    for name, j in (("fJ", Fraction(1, 10**15)), ("pJ", Fraction(1, 10**12)), ("nJ", Fraction(1, 10**9))):
        for op in ("op", "FLOP", "flop", "MAC"):
            t[f"{name}/{op}"] = ("energy_per_op", j)
    for name, w in (("uW", Fraction(1, 10**6)), ("mW", Fraction(1, 10**3)), ("W", Fraction(1)), ("kW", Fraction(10**3))):
        t[name] = ("power", w)
    for p in ("", "k", "M", "G", "T", "P"):
        t[f"{p}FLOPS"] = ("flops", Fraction(_DEC[p]))
        t[f"{p}OPS"] = ("flops", Fraction(_DEC[p]))
    return t


UNITS = _build_table()
KINDS = ("time", "size", "bits", "bandwidth", "frequency", "rate", "energy",
         "energy_per_bit", "energy_per_op", "power", "flops")

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ/]+)\s*$")


def _split(text, where: str | None) -> tuple[Fraction, str]:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"expected a quantity with a unit such as '14ns', got {text!r}", where)
    if isinstance(text, (int, float)):
        raise UnitError(f"'{text}' has no unit (write e.g. '{text}ns', '{text}GB/s')", where)
    m = _QUANTITY.match(text)
    if not m:
        if re.match(r"^\s*[-+]?[\d.eE+-]+\s*$", text):
            raise UnitError(f"'{text}' has no unit", where)
        raise UnitError(f"cannot read '{text}' as a number with a unit", where)
    number, unit = m.group(1), m.group(2)
    if unit not in UNITS:
        raise UnitError(f"unknown unit '{unit}' in '{text}'", where)
    return Fraction(number), unit


def parse_exact(text, kind: str, where: str | None = None) -> Fraction:
    """Parse ``text`` as a quantity of ``kind`` and return it exactly in base units."""
    if kind not in KINDS:
        raise ValueError(f"unknown quantity kind {kind!r}")
    value, unit = _split(text, where)
    unit_kind, factor = UNITS[unit]
    if kind == "bits":
        if unit_kind != "size":
            raise UnitError(f"'{text}' is a {unit_kind}, expected a number of bits such as '32bit'", where)
        return value * factor * 8
    if unit_kind != kind:
        raise UnitError(f"'{text}' is a {unit_kind.replace('_', ' ')}, expected a {kind.replace('_', ' ')}", where)
    return value * factor


def _whole(value: Fraction, text, unit_name: str, where) -> int:
    if value.denominator != 1:
        raise UnitError(f"'{text}' is not a whole number of {unit_name}", where)
    return int(value)


def parse_time_ps(text, where: str | None = None) -> int:
    """``"14ns"`` -> 14000 (integer picoseconds)."""
    return _whole(parse_exact(text, "time", where), text, "picoseconds", where)


def parse_bytes(text, where: str | None = None) -> int:
    """``"1KiB"`` -> 1024; ``"64bit"`` -> 8."""
    return _whole(parse_exact(text, "size", where), text, "bytes", where)


def parse_bits(text, where: str | None = None) -> int:
    """``"32bit"`` -> 32."""
    return _whole(parse_exact(text, "bits", where), text, "bits", where)


def parse_quantity(text, kind: str, where: str | None = None):
    """Parse any kind; time/size/bits give ``int``, the others ``float``."""
    if kind == "time":
        return parse_time_ps(text, where)
    if kind == "size":
        return parse_bytes(text, where)
    if kind == "bits":
        return parse_bits(text, where)
    return float(parse_exact(text, kind, where))


# -- formatting for tables -------------------------------------------------

def format_time_ps(ps: float) -> str:
    """Human-readable time: 1234567 -> '1.235 us'."""
    for unit, scale in (("s", 1e12), ("ms", 1e9), ("us", 1e6), ("ns", 1e3)):
        if abs(ps) >= scale:
            return f"{ps / scale:.4g} {unit}"
    return f"{ps:.4g} ps"


def format_bytes(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n:.0f} B"
