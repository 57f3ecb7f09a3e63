"""Shared test fixtures."""

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pimsim.cli import main as pimsim_main
from pimsim.trace.schema import OpRecord

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def ramulator_reference():
    return yaml.safe_load((DATA / "ramulator2_hbm.yaml").read_text())


OP_DEFAULTS = {"id": 0, "step": 0, "layer": 0, "phase": "decode", "name": "op", "m": 1, "n": 1, "k": 1,
               "heads": 0, "head_dim": 0, "batch": 0, "seq": 0, "shards": 1, "weight_bits": 16,
               "activation_bits": 16, "kv_bits": 16, "bytes_read": 0, "bytes_written": 0, "weight_bytes": 0,
               "flops": 0}


@pytest.fixture
def op():
    """Builds an OpRecord of a kind from a few fields, with neutral defaults for the rest."""
    def make_op(kind: str, **fields) -> OpRecord:
        return OpRecord(kind=kind, **{**OP_DEFAULTS, **fields})
    return make_op


@pytest.fixture
def run_cli():
    """Runs ``pimsim ARGS...`` in-process and returns click's result (exit_code, output)."""
    def invoke(*args):
        return CliRunner().invoke(pimsim_main, [str(a) for a in args])
    return invoke
