"""Fixtures for device tests: operator records built from a few fields."""

import pytest

from pimsim.trace.schema import OpRecord

DEFAULTS = dict(id=0, step=0, layer=0, phase="decode", name="op", m=1, n=1, k=1, heads=0, head_dim=0, batch=0,
                seq=0, shards=1, weight_bits=16, activation_bits=16, kv_bits=16, bytes_read=0, bytes_written=0,
                weight_bytes=0, flops=0)


def make_op(kind: str, **fields) -> OpRecord:
    """An OpRecord of ``kind`` with the given fields and neutral defaults for the rest."""
    return OpRecord(kind=kind, **{**DEFAULTS, **fields})


@pytest.fixture
def op():
    return make_op
