"""Planning (keys from resolved configs) and the built-in point kinds against the code they wrap."""

import subprocess
import sys

import pytest

from pimsim.core.errors import ConfigError
from pimsim.dram.replay import replay
from pimsim.experiments.kinds import PointKind, kind_named, kind_names
from pimsim.experiments.plan import plan_sweep
from pimsim.experiments.sweepfile import load_sweep
from pimsim.experiments.worker import Task, execute
from pimsim.trace import Scenario, generate


def plan(sweep_file, text, name="sweep.yaml"):
    spec, base_dir = load_sweep(sweep_file(text, name=name))
    return plan_sweep(spec, base_dir)


def test_builtin_kinds_are_registered():
    assert {"dram-replay", "trace-summary"} <= set(kind_names())
    with pytest.raises(ConfigError, match="unknown point kind 'scenari'.*valid:"):
        PointKind.registry.get("scenari")


def test_key_depends_on_the_resolved_config_not_on_how_it_is_written(sweep_file):
    a = plan(sweep_file, """
        kind: dram-replay
        grid: {device.timing_cycles.tRCD_RD: [31, 36]}
    """, "a.yaml")
    # the preset's own tRCD_RD is 31: naming the preset alone resolves to the same device
    b = plan(sweep_file, """
        kind: dram-replay
        base: {device: hbm3-6400}
        grid: {width: [null]}
    """, "b.yaml")
    assert a[0].key == b[0].key
    assert a[1].key != a[0].key
    assert a[1].resolved["device"]["timing_cycles"]["tRCD_RD"] == 36
    assert a[1].resolved["device"]["source"].startswith("JEDEC")   # the preset, expanded


def test_key_follows_the_trace_content_not_its_path(sweep_file, tmp_path):
    (tmp_path / "t1.trace").write_text("R 0x0\nR 0x40\n")
    (tmp_path / "t2.trace").write_text("R 0x0\nR 0x40\n")
    (tmp_path / "t3.trace").write_text("R 0x0\nR 0x80\n")
    points = plan(sweep_file, "kind: dram-replay\ngrid: {trace: [t1.trace, t2.trace, t3.trace]}\n")
    assert len(points) == 2          # t1 and t2 are the same point
    assert points[0].resolved["trace"]["sha256"] != points[1].resolved["trace"]["sha256"]


def test_key_is_the_same_in_another_process(sweep_file):
    path = sweep_file("kind: trace-summary\ngrid: {scenario.batch: [4]}\n")
    here = plan_sweep(*load_sweep(path))[0].key
    code = ("from pimsim.experiments.plan import plan_sweep; from pimsim.experiments.sweepfile import load_sweep;"
            f"print(plan_sweep(*load_sweep({str(path)!r}))[0].key)")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there


def test_seed_is_part_of_the_key_and_reaches_moe_routing(sweep_file):
    a = plan(sweep_file, "kind: trace-summary\nseed: 1\nbase: {model: mixtral-8x7b}\n", "a.yaml")[0]
    b = plan(sweep_file, "kind: trace-summary\nseed: 2\nbase: {model: mixtral-8x7b}\n", "b.yaml")[0]
    c = plan(sweep_file, "kind: trace-summary\nseed: 2\nbase: {model: mixtral-8x7b, scenario: {routing: {seed: 7}}}\n",
             "c.yaml")[0]
    assert a.key != b.key
    assert (a.task["scenario"]["routing"]["seed"], b.task["scenario"]["routing"]["seed"]) == (1, 2)
    assert c.task["scenario"]["routing"]["seed"] == 7          # set in the point: the sweep seed does not override


def test_invalid_points_carry_their_error_and_the_rest_plan(sweep_file):
    points = plan(sweep_file, "kind: dram-replay\ngrid: {device.timing_cycles.tRCD_RD: [31, 100]}\n")
    assert [bool(p.error) for p in points] == [False, True]
    assert "impossible timing" in points[1].error and "tRCD_RD=100" in points[1].error


def test_a_sweep_whose_every_point_is_invalid_is_one_error(sweep_file):
    with pytest.raises(ConfigError, match="unknown device 'hbm9'"):
        plan(sweep_file, "kind: dram-replay\nbase: {device: hbm9}\ngrid: {width: [1, 2]}\n")


def test_a_malformed_trace_stops_the_sweep_while_planning(sweep_file, tmp_path):
    (tmp_path / "bad.trace").write_text("R 0x0\nR zz\n")
    with pytest.raises(Exception) as info:
        plan(sweep_file, "kind: dram-replay\nbase: {trace: bad.trace}\ngrid: {width: [1, 2]}\n")
    assert "bad.trace:2" in str(info.value)


def test_dram_replay_point_gives_the_numbers_of_pimsim_replay(sweep_file):
    point = plan(sweep_file, """
        kind: dram-replay
        base: {mapping: MOP4CLXOR, refresh: none}
        grid: {device.timing_cycles.tRCD_RD: [36]}
    """)[0]
    out = execute(Task(point.key, "dram-replay", point.task, 0))
    assert out.status == "ok", out.error
    ref = replay(None, "hbm3-6400", mapping="MOP4CLXOR", refresh="none", sets=["timing_cycles.tRCD_RD=36"])
    for name in ("cycles", "time_ps", "bandwidth_GBps", "row_hits", "row_conflicts", "read_latency_p99_ns"):
        assert out.metrics[name] == ref[name], name
    assert out.metrics["cmd_ACT"] == ref["commands"]["ACT"]
    assert "cpu_s" not in out.metrics       # not deterministic, so not a metric


def test_trace_summary_point_matches_the_trace_package(sweep_file):
    point = plan(sweep_file, """
        kind: trace-summary
        base: {model: llama2-7b, scenario: {phase: decode, output_tokens: 1}}
        grid: {scenario.batch: [1], scenario.context_tokens: [2048]}
    """)[0]
    out = execute(Task(point.key, "trace-summary", point.task, 0))
    table = generate("llama2-7b", Scenario(phase="decode", batch=1, context_tokens=2048, output_tokens=1))
    assert out.metrics["flops"] == pytest.approx(table.total("flops"))
    assert out.metrics["weight_bytes"] == pytest.approx(table.total("weight_bytes"))
    assert out.metrics["kv_bytes_read"] == pytest.approx(table.where(kind="kv_read").total("bytes_read"))
    # Llama-2-7B at batch 1 reads ~13.2 GB of FP16 weights per decode step (README hand check)
    assert 13.0e9 < out.metrics["weight_bytes"] < 13.5e9


def test_a_scenario_preset_with_overrides(sweep_file):
    point = plan(sweep_file, """
        kind: trace-summary
        base: {model: llama2-70b, scenario: decode-batch32-ctx4096}
        grid: {scenario.batch: [8]}
    """)[0]
    assert point.task["scenario"]["batch"] == 8
    assert point.task["scenario"]["context_tokens"] == 4096


@pytest.mark.parametrize("task, fragment", [
    ({"fail": True, "batch": 3}, "point asked to fail (batch 3)"),
    ({"crash": True}, "metric 'tokens_per_s' has a value of type list"),
    ({"undeclared": True}, "metric 'no_such_metric' is not declared"),
    ({"bug": True}, "internal error: ZeroDivisionError: division by zero at conftest.py"),
])
def test_a_failing_point_becomes_a_failed_outcome(task, fragment):
    out = execute(Task("k1", "test-echo", task, 0))
    assert out.status == "failed" and fragment in out.error and out.metrics == {}


def test_a_new_kind_is_one_class(expected_tps):
    kind = kind_named("test-echo")
    assert kind.run({"placement": "pim", "batch": 4, "context": 1000}, 0)["tokens_per_s"] == \
        expected_tps("pim", 4, 1000)
