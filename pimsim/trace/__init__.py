"""Operator traces: from a model configuration (or a real module) to operators with exact costs.

The trace layer knows nothing of hardware and never imports SimPy. Its
pieces, from the bottom up:

* :mod:`~pimsim.trace.schema` — the operator record and its fields;
* :mod:`~pimsim.trace.table` — :class:`OpTable`, a whole trace as columns;
* :mod:`~pimsim.trace.model` / :mod:`~pimsim.trace.scenario` — what runs, and how;
* :mod:`~pimsim.trace.generate` — the analytic generator;
* :mod:`~pimsim.trace.files` — JSON Lines and HDF5 files;
* :mod:`~pimsim.trace.summary` — per-kind totals and arithmetic intensity;
* :mod:`~pimsim.trace.extract` — operators recorded from transformers modules
  on PyTorch's meta device (optional extra ``[extract]``).
"""

from pimsim.trace.files import read_trace, write_trace
from pimsim.trace.generate import generate
from pimsim.trace.model import ModelConfig, load_model
from pimsim.trace.scenario import Scenario, expected_tokens_per_verify, load_scenario, parse_precision
from pimsim.trace.schema import KINDS, PHASES, SCHEMA_VERSION, OpRecord
from pimsim.trace.table import OpTable

__all__ = ["KINDS", "PHASES", "SCHEMA_VERSION", "ModelConfig", "OpRecord", "OpTable", "Scenario",
           "expected_tokens_per_verify", "generate", "load_model", "load_scenario", "parse_precision",
           "read_trace", "write_trace"]
