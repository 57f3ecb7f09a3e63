"""Unit parsing: one parser, exact values, clear errors."""

import pytest

from pimsim.core.errors import UnitError
from pimsim.core.units import parse_bits, parse_bytes, parse_quantity, parse_time_ps


@pytest.mark.parametrize("text, ps", [("14ns", 14_000), ("625ps", 625), ("0.5ns", 500), ("3.9us", 3_900_000),
                                      ("1ms", 10**9), ("2s", 2 * 10**12), ("1.25 ns", 1250)])
def test_time_is_integer_picoseconds(text, ps):
    value = parse_time_ps(text)
    assert value == ps and isinstance(value, int)


@pytest.mark.parametrize("text, nbytes", [("1KiB", 1024), ("8GiB", 8 * 2**30), ("16GB", 16 * 10**9),
                                          ("32B", 32), ("64bit", 8), ("2KB", 2000), ("1Gb", 125_000_000)])
def test_sizes_use_decimal_and_binary_prefixes(text, nbytes):
    assert parse_bytes(text) == nbytes


def test_bits():
    assert parse_bits("32bit") == 32
    assert parse_bits("1KiB") == 8192


@pytest.mark.parametrize("text, kind, value", [
    ("256GB/s", "bandwidth", 256e9), ("2GiB/s", "bandwidth", 2 * 2**30), ("64Gbit/s", "bandwidth", 8e9),
    ("2GHz", "frequency", 2e9), ("300MHz", "frequency", 3e8), ("32GT/s", "rate", 32e9),
    ("3.9pJ/bit", "energy_per_bit", 3.9e-12), ("0.32pJ", "energy", 0.32e-12), ("400W", "power", 400.0),
    ("312TFLOPS", "flops", 312e12), ("8pJ/B", "energy_per_bit", 1e-12)])
def test_other_kinds(text, kind, value):
    assert parse_quantity(text, kind) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("bad", [14, "14", 3.5, "14 parsecs", "fast", "", None, True])
def test_missing_or_unknown_unit_is_an_error(bad):
    with pytest.raises(UnitError):
        parse_time_ps(bad, where="x.yaml: tRCD")


def test_wrong_kind_names_both_kinds_and_location():
    with pytest.raises(UnitError) as err:
        parse_time_ps("16GB", where="devices/a.yaml: clock.tCK")
    msg = str(err.value)
    assert "devices/a.yaml: clock.tCK" in msg and "size" in msg and "time" in msg


def test_fractional_picoseconds_rejected():
    with pytest.raises(UnitError, match="whole number of picoseconds"):
        parse_time_ps("0.1ps")
