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
                          ({"colour": "red"}, "unknown key 'colour'")):
        with pytest.raises(ConfigError, match=fragment):
            kind.prepare(raw, Path(tmp_path), 0)
