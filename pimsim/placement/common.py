"""Helpers shared by placements: operator kinds as codes, per-kind device maps."""

from __future__ import annotations

import numpy as np

from pimsim.trace.schema import KINDS

ATTENTION = ("attention_score", "softmax", "attention_context", "kv_read", "kv_write")
ATTENTION_GEMV = ("attention_score", "attention_context")


def kind_names(trace) -> list[str]:
    """The kind of every operator, as text."""
    return [KINDS[int(k)] for k in trace["kind"]]


def by_kind(trace, mapping: dict, default: str) -> tuple[str, ...]:
    """Device per operator from ``{kind: device}``, ``default`` for the rest."""
    return tuple(mapping.get(k, default) for k in kind_names(trace))


def names(trace) -> list[str]:
    return [trace.record(i).name for i in range(len(trace))]


def phase_is(trace, phase: str) -> np.ndarray:
    from pimsim.trace.schema import PHASES

    return trace["phase"] == PHASES.index(phase)
