"""NeuPIMs placements (npu, npu+pim, neupim) against the NeuPIMs simulator, and their physics.

One decode step of GPT3-7B, tensor parallel 4 (one shard simulated, as the NeuPIMs simulator does),
512 requests with ShareGPT-like context lengths. A layer's cost is the difference between 4 and 2
layers, halved: the steady state of the interleaved pipeline (NeuPIMs' stages C + D).
"""

import dataclasses
import math
from functools import cache
from pathlib import Path

import pytest
import yaml

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.devices.loading import load_device
from pimsim.devices.npu import Npu
from pimsim.experiments.pipeline import run_pass
from pimsim.experiments.scenario import ScenarioSpec, load_inputs
from pimsim.placement.neupims_batch import balance, halves, sharegpt_lengths
from pimsim.trace import Scenario, generate, load_model

REF = yaml.safe_load((Path(__file__).parents[1] / "data" / "placement_references.yaml").read_text())["neupims"]
LENGTHS = sharegpt_lengths(512, seed=0)
ONE_SHARD = ("devices.npu.count=1", "devices.pim.count=1")
VARIANTS = {   # reference name: placement, system, options
    "neupim": ("neupim", "neupims", ()),
    "neupim_no_interleave": ("neupim", "neupims", (("interleave", False),)),
    "naive": ("npu+pim", "neupims-naive", ()),
    "npu_only": ("npu", "neupims", ()),
    "neupim_no_dual_buffer": ("neupim", "neupims", (("dual_row_buffer", False),)),
}


@cache
def run(variant: str, layers: int, lengths=LENGTHS):
    placement, system, options = VARIANTS[variant]
    spec = ScenarioSpec(model="gpt3-7b", placement=placement, system=system, system_sets=ONE_SHARD,
                        placement_options=(("tp", 4), *options))
    model, p, system_spec = load_inputs(spec)
    model = dataclasses.replace(model, num_hidden_layers=layers)
    plan = p.plan_lengths(model, lengths, "FP16", system_spec)
    return run_pass(plan, system_spec, "decode", max(lengths)), plan, model


def cycles_per_layer(variant: str) -> float:
    return (run(variant, 4)[0].time_ps - run(variant, 2)[0].time_ps) / 2 / 1000     # 1 GHz


@pytest.mark.parametrize("variant", ["neupim_no_interleave", "naive", "npu_only"])
def test_ratio_to_neupims_matches_the_neupims_simulator(variant):
    ours = cycles_per_layer(variant) / cycles_per_layer("neupim")
    theirs = REF["cycles"][variant] / REF["cycles"]["neupim"]
    assert ours == pytest.approx(theirs, rel=REF["tolerance"])


@pytest.mark.parametrize("variant", ["neupim", "neupim_no_interleave", "naive", "npu_only"])
def test_cycles_per_layer_match_the_neupims_simulator(variant):
    assert cycles_per_layer(variant) == pytest.approx(REF["cycles"][variant], rel=REF["tolerance"])


def test_interleaving_beats_no_interleaving_beats_naive_beats_npu_only():
    order = [cycles_per_layer(v) for v in ("neupim", "neupim_no_interleave", "naive", "npu_only")]
    assert order == sorted(order)


def test_interleaved_steady_state_is_npu_bound():
    """As in NeuPIMs' stages C and D: the PIM's attention hides under the NPU's GEMMs."""
    step = run("neupim", 4)[0]
    assert step.group_busy["npu"] > 0.9 and step.group_busy["pim"] < 0.6


def _intervals(step, pim: bool):
    return [(e.start_ps, e.end_ps) for e in step.run.events
            if (e.device.startswith("pim") if pim else e.device.startswith("npu")) and "->" not in e.device
            and e.kind not in ("send", "allreduce") and e.end_ps > e.start_ps]


def test_without_dual_row_buffers_npu_and_pim_take_turns():
    step = run("neupim_no_dual_buffer", 2)[0]
    npu, pim = _intervals(step, False), _intervals(step, True)
    assert npu and pim
    assert not any(a < d and c < b for a, b in npu for c, d in pim)
    assert cycles_per_layer("neupim_no_dual_buffer") > cycles_per_layer("neupim_no_interleave")


def test_with_dual_row_buffers_npu_and_pim_overlap():
    step = run("neupim", 2)[0]
    npu, pim = _intervals(step, False), _intervals(step, True)
    assert any(a < d and c < b for a, b in npu for c, d in pim)


@pytest.mark.parametrize("variant", ["neupim", "naive", "npu_only"])
def test_bytes_are_the_weights_and_every_token_of_the_kv_cache(variant):
    """Weights once per step (as the trace of the whole batch says), every token's K and V once."""
    step, _, model = run(variant, 2)
    logical = generate(model, Scenario(phase="decode", batch=len(LENGTHS), context_tokens=100, output_tokens=1,
                                        tensor_parallel=4))
    assert step.weight_bytes == int((logical["weight_bytes"] * logical["shards"]).sum())
    kv_per_token = 2 * model.num_hidden_layers * model.hidden_size * 2          # K and V, all shards
    assert step.kv_bytes_read == sum(LENGTHS) * kv_per_token


@pytest.mark.parametrize("variant", ["neupim", "neupim_no_interleave", "naive", "npu_only"])
def test_no_device_is_busier_than_the_run_and_energy_adds_up(variant):
    step = run(variant, 2)[0]
    assert max(step.group_busy.values()) <= 1.0 + 1e-9
    assert max(step.run.busy_ps.values()) <= step.time_ps + 1
    assert all(v >= 0 for v in step.energy_J.values())
    assert sum(step.energy_J.values()) == pytest.approx(
        sum(v for k, v in step.energy_J.items() if not k.startswith("links.")) + step.run.transfer_J)


def test_pim_attention_runs_per_channel_and_the_npu_does_the_rest():
    step, plan, _ = run("neupim", 2)
    on_pim = {e.kind for e in step.run.events if e.device == "pim"}
    on_npu = {e.kind for e in step.run.events if e.device == "npu"}
    assert {"attention_score", "attention_context"} <= on_pim
    assert not on_npu & {"attention_score", "attention_context", "kv_read"}
    parts = [p for p in plan.assignment.parts if p >= 0]
    assert set(parts) == set(range(32))
    # q, K and V reach the PIM, the contexts the NPU, over the HBM: at least once per layer and sub-batch
    assert step.run.link_bytes >= 2 * 2 * 512 * (3 * 1024 + 1024) * 2 // 2


def test_capacity_is_counted_once_and_llama2_70b_fits_the_default_system():
    spec = ScenarioSpec(model="llama2-70b", placement="neupim")
    model, p, system = load_inputs(spec)
    assert {t.group for t in p.tensors(model, 64, 4096, system)} == {"npu"}
    p.check_capacity(model, 64, 4096, system)
    with pytest.raises(CapacityError, match="group 'npu'"):
        p.check_capacity(model, 128, 4096, system)


def test_prefill_runs_on_the_npus():
    spec = ScenarioSpec(model="gpt3-7b", placement="neupim", system_sets=ONE_SHARD, placement_options=(("tp", 4),))
    model, p, system = load_inputs(spec)
    model = dataclasses.replace(model, num_hidden_layers=1)
    plan = p.plan(model, "prefill", 2, 64, "FP16", system)
    assert set(plan.assignment.devices) <= {"npu"}


def test_bad_options_are_clear_errors():
    spec = ScenarioSpec(model="gpt3-7b", placement="neupim", placement_options=(("interleave", "sometimes"),))
    model, p, system = load_inputs(spec)
    with pytest.raises(ConfigError, match="interleave must be true or false"):
        p.plan(dataclasses.replace(model, num_hidden_layers=1), "decode", 4, 100, "FP16", system)
    with pytest.raises(ConfigError, match="no option 'warp'"):
        load_inputs(ScenarioSpec(model="gpt3-7b", placement="npu", placement_options=(("warp", 1),)))


def test_npu_serial_attention_follows_the_neupims_npu():
    """Per head: score 254 + L/8, context 255 + 128 ceil((L + 127) / 128) cycles (NeuPIMs' FusedMHA);
    summed over the ShareGPT lengths within 5%."""
    npu = Npu("npu", load_device("neupims-npu"))
    model = load_model("gpt3-7b")
    ours = theirs = 0
    for length in LENGTHS:
        score = npu.serial_gemv_cycles(length, model.head_size, 1)
        context = npu.serial_gemv_cycles(model.head_size, length, 1)
        ours += score + context
        theirs += 254 + length / 8 + 255 + 128 * math.ceil((length + 127) / 128)
    assert ours == pytest.approx(theirs, rel=0.05)


def test_requests_are_balanced_over_channels_and_split_in_halves():
    costs = [-(-x // 32) + 4 * -(-x // 512) for x in LENGTHS]
    channel_of = balance(costs, 32)
    loads = [sum(c for c, ch in zip(costs, channel_of) if ch == k) for k in range(32)]
    assert max(loads) <= 1.05 * sum(loads) / 32
    first, second = halves(channel_of, 32)
    assert sorted(first + second) == list(range(512)) and abs(len(first) - len(second)) <= 1
    for k in range(32):
        mine = [i for i in range(512) if channel_of[i] == k]
        assert abs(sum(i in first for i in mine) - sum(i in second for i in mine)) <= 1
    assert 250 < sum(LENGTHS) / 512 < 350 and max(LENGTHS) <= 2048
