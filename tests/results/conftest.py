"""Fixtures for results tests: records and results files made directly, without running a sweep."""

import pytest

from pimsim.results.h5file import Header, write_results
from pimsim.results.metrics import metric
from pimsim.results.record import PointRecord

metric("tokens_per_s", "tokens/s", "test metric: generated tokens per second")


def make_record(key, params, metrics, status="ok", error="", seed=0, run_id="r1"):
    return PointRecord(key=key, status=status, kind="test-echo", params=params, config=dict(params),
                       resolved={"echo": dict(params)}, seed=seed, metrics=metrics, error=error,
                       pimsim_version="0.0.test", run_id=run_id, elapsed_s=0.25, finished_at="2025-01-01T00:00:00")


def placement_records():
    """4 placements x 3 batch sizes; tokens_per_s = speed x batch; one failed point."""
    speed = {"gpu": 100.0, "pim": 250.0, "cxl": 60.0, "npu": 140.0}
    out = []
    for i, (placement, s) in enumerate(speed.items()):
        for j, batch in enumerate((1, 8, 64)):
            out.append(make_record(f"k{i}{j}", {"placement": placement, "scenario.batch": batch},
                                   {"tokens_per_s": s * batch, "steps": 3 * batch}))
    out.append(make_record("kfail", {"placement": "gpu", "scenario.batch": 512}, {}, status="failed",
                           error="out of memory"))
    return out


HEADER = Header("placements", "test-echo", {"axes": ["placement", "scenario.batch"]},
                {"tokens_per_s": "tokens/s", "steps": "", "scenario.batch": "sequences"}, "0.0.test")


@pytest.fixture
def results_file(tmp_path):
    path = tmp_path / "placements.h5"
    write_results(path, HEADER, placement_records())
    return path


