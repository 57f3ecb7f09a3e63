"""The ``scenario`` point kind: a sweep over placements, batches and contexts."""

from pathlib import Path

import pytest

from pimsim.core.errors import ConfigError
from pimsim.experiments.kinds import kind_named


def test_scenario_point_runs_and_returns_declared_metrics(tmp_path):
    kind = kind_named("scenario")
    prepared = kind.prepare({"model": "llama2-7b", "placement": "gpu", "batch": 4, "context": 600,
                             "output_len": 8, "samples": 2}, Path(tmp_path), 0)
    out = kind.run(prepared.task, 0)
    from pimsim.results.metrics import is_declared

    assert out["tokens_per_s"] > 0 and 0 < out["max_busy"] <= 1 and out["batch"] == 4
    assert all(is_declared(k) for k in out)
    again = kind.run(prepared.task, 0)
    assert again == out                                     # deterministic


def test_scenario_point_rejects_bad_values(tmp_path):
    kind = kind_named("scenario")
    for raw, fragment in (({"placement": "warp"}, "unknown placement"),
                          ({"batch": -2}, "positive integer or 'max'"),
                          ({"context": 100, "output_len": 200}, "shorter than context"),
                          ({"colour": "red"}, "unknown key 'colour'"),
                          ({"precision": "W3A16"}, "weight width 3 bit")):
        with pytest.raises(ConfigError, match=fragment):
            kind.prepare(raw, Path(tmp_path), 0)


def test_scenario_point_sweeps_precision(tmp_path):
    """W4A16 on the GPU reads a quarter of the FP16 weight bytes per step."""
    kind = kind_named("scenario")
    out = {}
    for precision in ("FP16", "W4A16"):
        prepared = kind.prepare({"model": "llama2-7b", "placement": "gpu", "batch": 2, "context": 300,
                                 "output_len": 2, "samples": 2, "precision": precision}, Path(tmp_path), 0)
        out[precision] = kind.run(prepared.task, 0)
    assert out["W4A16"]["weight_bytes_per_step"] == pytest.approx(out["FP16"]["weight_bytes_per_step"] / 4, rel=0.01)
    assert out["W4A16"]["tokens_per_s"] > out["FP16"]["tokens_per_s"]
