"""The example sweeps in examples/sweeps/ stay valid: every point plans without error."""

from pathlib import Path

import pytest

from pimsim.experiments.plan import plan_sweep
from pimsim.experiments.sweepfile import load_sweep

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "sweeps").glob("*.yaml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_sweep_plans_cleanly(path):
    spec, base_dir = load_sweep(path)
    points = plan_sweep(spec, base_dir)
    assert points and not [p.error for p in points if p.error]
    assert len(points) == len({p.key for p in points})
