"""Sweep files and their points: grids, zipped lists, paths, and errors naming the file and key."""

import pytest

from pimsim.core.errors import ConfigError
from pimsim.experiments.grid import expand, point_config, point_count, set_path
from pimsim.experiments.sweepfile import load_sweep


def test_grid_is_the_product_with_the_last_axis_fastest(sweep_file):
    spec, _ = load_sweep(sweep_file("""
        kind: test-echo
        grid: {placement: [gpu, pim], batch: [1, 8, 64]}
    """))
    points = expand(spec)
    assert point_count(spec) == len(points) == 6
    assert points[:3] == [{"placement": "gpu", "batch": b} for b in (1, 8, 64)]
    assert points[3] == {"placement": "pim", "batch": 1}


def test_zip_advances_lists_together_as_one_axis(sweep_file):
    spec, _ = load_sweep(sweep_file("""
        kind: test-echo
        grid: {placement: [gpu, pim]}
        zip: {batch: [1, 8, 64], context: [4096, 2048, 512]}
    """))
    points = expand(spec)
    assert len(points) == 6
    assert {(p["batch"], p["context"]) for p in points} == {(1, 4096), (8, 2048), (64, 512)}


def test_several_zip_groups_multiply(sweep_file):
    spec, _ = load_sweep(sweep_file("""
        kind: test-echo
        zip:
          - {batch: [1, 2], context: [10, 20]}
          - {placement: [gpu, pim, cxl], seedish: [1, 2, 3]}
    """))
    assert len(expand(spec)) == 6
    assert spec.axes == ["batch", "context", "placement", "seedish"]


def test_set_path_creates_mappings_and_leaves_the_base_alone():
    base = {"device": {"preset": "hbm3-6400"}}
    out = point_config(base, {"device.timing_cycles.tRCD_RD": 36, "width": 2})
    assert out == {"device": {"preset": "hbm3-6400", "timing_cycles": {"tRCD_RD": 36}}, "width": 2}
    assert base == {"device": {"preset": "hbm3-6400"}}


def test_set_path_through_a_value_is_an_error():
    with pytest.raises(ConfigError, match="'device' is 'hbm3-6400', not a mapping"):
        set_path({"device": "hbm3-6400"}, "device.timing_cycles.tRCD_RD", 1)


def test_name_defaults_to_the_file_name(sweep_file):
    spec, base_dir = load_sweep(sweep_file("kind: test-echo\ngrid: {batch: [1]}\n", name="my-sweep.yaml"))
    assert spec.name == "my-sweep"
    assert base_dir == sweep_file("kind: test-echo\n", name="x.yaml").parent


@pytest.mark.parametrize("text, fragment", [
    ("kind: nope\n", "unknown point kind 'nope'"),
    ("grid: {batch: [1]}\n", "missing required key 'kind'"),
    ("kind: test-echo\ngrid: {batch: 8}\n", "grid.batch: expected a non-empty list"),
    ("kind: test-echo\ngrid: {batch: []}\n", "grid.batch: expected a non-empty list"),
    ("kind: test-echo\ngrid: {'a..b': [1]}\n", "is not a config path"),
    ("kind: test-echo\nzip: {a: [1, 2], b: [1]}\n", "zipped lists have different lengths"),
    ("kind: test-echo\ngrid: {a: [1]}\nzip: {a: [1]}\n", "'a' is swept twice"),
    ("kind: test-echo\ngird: {a: [1]}\n", "unknown key 'gird' (did you mean 'grid'?)"),
    ("kind: test-echo\nseed: one\n", "seed: expected an integer"),
    ("kind: test-echo\nbase: [1, 2]\n", "base: expected a mapping"),
    ("- just\n- a list\n", "expected a mapping of keys to values at the top level"),
    ("kind: [unclosed\n", "malformed YAML"),
])
def test_bad_sweep_files_name_the_file_and_key(sweep_file, text, fragment):
    path = sweep_file(text)
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert fragment in info.value.one_line()
    assert "sweep.yaml" in info.value.one_line()


def test_a_sweep_too_large_to_plan_is_refused(sweep_file):
    spec, _ = load_sweep(sweep_file("kind: test-echo\ngrid: {a: " + str(list(range(1001))) + ", b: "
                                    + str(list(range(1001))) + "}\n"))
    with pytest.raises(ConfigError, match="1,002,001 points"):
        expand(spec)
