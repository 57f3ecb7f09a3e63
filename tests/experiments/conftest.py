"""Fixtures for sweep tests: sweep files, the CLI, and a test-only point kind."""

import textwrap

import pytest

from pimsim.experiments.kinds import PointKind, Prepared
from pimsim.results.metrics import metric

metric("tokens_per_s", "tokens/s", "test metric: generated tokens per second")
metric("label", "", "test metric: a text value")
SPEED = {"gpu": 100.0, "pim": 250.0, "cxl": 60.0, "npu": 140.0}


class EchoPoint(PointKind, kind="test-echo"):
    """A point kind made for tests: a formula of placement, batch and context; fails on request.

    It stands in for the future ``scenario`` kind: parameters placement/batch/context,
    metric tokens_per_s. Runs in-process only (workers do not import test modules).
    """

    def prepare(self, raw, base_dir, seed):
        if raw.get("invalid"):
            from pimsim.core.errors import ConfigError

            raise ConfigError("this point is invalid on purpose", "point: invalid")
        return Prepared(task=dict(raw), resolved={"echo": dict(raw)}, identity=dict(raw))

    def run(self, task, seed):
        if task.get("fail"):
            from pimsim.core.errors import SimulationError

            raise SimulationError(f"point asked to fail (batch {task.get('batch')})")
        if task.get("crash"):
            return {"tokens_per_s": [1, 2]}          # not a scalar: the worker must reject it
        if task.get("undeclared"):
            return {"no_such_metric": 1.0}
        if task.get("bug"):
            raise ZeroDivisionError("division by zero")
        batch, context = task.get("batch", 1), task.get("context", 1024)
        tps = SPEED[task.get("placement", "gpu")] * batch / (1 + context / 1000) + seed * 1e-3
        return {"tokens_per_s": tps, "label": f"b{batch}"}


def tokens_per_s(placement, batch, context, seed=0):
    return SPEED[placement] * batch / (1 + context / 1000) + seed * 1e-3


@pytest.fixture
def sweep_file(tmp_path):
    """Write a sweep YAML (dedented text) into tmp_path and return its path."""
    def write(text, name="sweep.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return write


def one_error_line(result) -> str:
    """The single 'error: ...' line a failed command printed; fails the test otherwise."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def error_line():
    return one_error_line


@pytest.fixture
def expected_tps():
    return tokens_per_s

