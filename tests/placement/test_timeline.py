"""Per-operator timelines: Chrome trace files that account for every operator and all device time."""

import json

import pytest

from pimsim.experiments.pipeline import run_decode_step
from pimsim.experiments.scenario import ScenarioSpec, load_inputs
from pimsim.experiments.timeline import chrome_trace


@pytest.fixture(scope="module")
def attacc_step():
    spec = ScenarioSpec(model="llama2-7b", placement="attacc", batch=4, prompt_tokens=500, output_tokens=4)
    model, placement, system = load_inputs(spec)
    return run_decode_step(model, placement, system, 4, 501, "FP16"), system


def test_every_event_is_in_the_trace_and_device_time_adds_up(attacc_step):
    step, system = attacc_step
    trace = chrome_trace([step], system)
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == len(step.run.events)
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    busy_us: dict = {}
    for e in spans:
        assert e["dur"] >= 0 and 0 <= e["ts"] and e["ts"] + e["dur"] <= step.time_ps / 1e6 + 1e-6
        device = names[(e["pid"], e["tid"])]
        busy_us[device] = busy_us.get(device, 0.0) + e["dur"]
    # the GPU's operators in the trace account for all its busy time (one unit: no overlap)
    gpu = system.devices["gpu"].instances[0]
    assert busy_us[gpu] == pytest.approx(step.run.busy_ps[gpu] / 1e6, rel=1e-9)
    groups = {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"}
    assert {"gpu", "attacc", "links"} <= groups
    kinds = {e["cat"] for e in spans}
    assert {"attention_score", "attention_context", "gemm", "transfer"} <= kinds


def test_compare_writes_a_chrome_trace_per_placement(tmp_path, run_cli):
    res = run_cli("compare", "--model", "llama2-7b", "--placements", "gpu,cent", "--batch", "2", "--context",
                  "300", "--output-len", "4", "--samples", "2", "--timeline", "-o", tmp_path)
    assert res.exit_code == 0, res.output
    traces = sorted(tmp_path.glob("*.trace.json"))
    assert [t.name.rsplit("-", 1)[1] for t in traces] == ["cent.trace.json", "gpu.trace.json"]
    for t in traces:
        data = json.loads(t.read_text())
        assert data["otherData"]["pass"].startswith("decode step")
        assert any(e["ph"] == "X" for e in data["traceEvents"])
