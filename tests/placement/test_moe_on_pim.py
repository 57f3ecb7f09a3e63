"""MoE on PIM: the router and the experts run as the GEMVs they are made of."""

from functools import cache

import pytest

from pimsim.devices.loading import load_device
from pimsim.experiments.pipeline import run_decode_step
from pimsim.experiments.scenario import ScenarioSpec, load_inputs
from pimsim.pim import api
from pimsim.pim.module_timing import PimModuleTiming


def test_an_expert_is_its_gate_up_and_down_gemvs(op):
    """One Mixtral expert shard (1792 x 4096) for 3 tokens on a CENT device: gate and up (1792 x 4096) and
    down (4096 x 1792), one after another; the router is one GEMV of 8 logits. Time and energy add up."""
    config = load_device("cent-cxl-aim")
    timing = PimModuleTiming(config)
    expert = op("expert_ffn", m=3, n=1792, k=4096)
    parts = [api.gemv(timing.spec, rows, cols, batch=3) for rows, cols in ((1792, 4096), (1792, 4096), (4096, 1792))]
    assert timing.cost_ps(expert) == sum(p.time_ps for p in parts)
    joules = sum(v for k, v in timing.energy_J(expert).items())
    assert joules == pytest.approx(sum(p.energy_total_J for p in parts) * timing.copies)
    router = op("moe_router", m=3, n=8, k=4096)
    assert timing.cost_ps(router) == api.gemv(timing.spec, 8, 4096, batch=3).time_ps


@cache
def step(model: str, mapping: str = "pipeline"):
    spec = ScenarioSpec(model=model, placement="cent", batch=8, prompt_tokens=1000, output_tokens=2,
                        placement_options=(("mapping", mapping),))
    m, p, system = load_inputs(spec)
    return run_decode_step(m, p, system, 8, 1000, "FP16"), m


@pytest.mark.parametrize("mapping", ["pipeline", "tensor"])
def test_mixtral_runs_on_cent_reading_only_the_selected_experts(mapping):
    """A decode step of Mixtral-8x7B reads the weights of the experts its tokens select, and takes longer
    than Llama-2-7B's (fewer active weights: 6.7B against about 12.9B). The pipeline costs one query's
    blocks (2 of 8 experts per layer); the tensor mapping runs the 8 queries together, whose tokens select
    most experts of a layer (uniform routing: 1 - (6/8)^8 = 90% on average), but never more than all."""
    mixtral, m = step("mixtral-8x7b", mapping)
    dense, _ = step("llama2-7b", mapping)
    expert_bytes = 3 * m.hidden_size * m.intermediate_size * 2
    all_experts = m.num_hidden_layers * m.num_local_experts * expert_bytes
    rest = m.parameter_count() * 2 - all_experts - m.vocab_size * m.hidden_size * 2   # one embedding row read
    if mapping == "pipeline":
        assert mixtral.weight_bytes == pytest.approx(rest + all_experts * 2 / 8, rel=0.01)
    else:
        assert rest + 0.75 * all_experts < mixtral.weight_bytes <= rest + all_experts + 1e6
    assert mixtral.time_ps > dense.time_ps
    assert sum(mixtral.energy_J.values()) > 0
