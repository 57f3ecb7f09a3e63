"""CENT's pipeline: the decode round and prefill.

Decode: one steady-state round of the queries in flight, each stage serving them
first come, first served. Prefill: the prompts' tokens stream through the stages.
Prompts are independent, so ``n`` prompts cost ``n`` times one once the pipeline is
full. The default (``prefill_chunks: 0``) simulates the pipeline at ``stages`` and
``stages / 2`` chunks and extrapolates the fill ``T(C) = A + B / C`` to one token per
chunk; asking for the chunk count exactly (``prefill_chunks: k``) must agree.
"""

from functools import cache

import pytest

from pimsim.core.errors import ConfigError
from pimsim.experiments.pipeline import run_decode_step, run_prefill
from pimsim.experiments.scenario import ScenarioSpec, load_inputs
from pimsim.pim import api


@cache
def prefill(model: str, devices: int, batch: int, prompt: int, **options):
    spec = ScenarioSpec(model=model, placement="cent", batch=batch, prompt_tokens=prompt, output_tokens=1,
                        placement_options=tuple(sorted(options.items())),
                        system_sets=(f"devices.pim.count={devices}",))
    m, p, system = load_inputs(spec)
    return run_prefill(m, p, system, batch, prompt, "FP16")


def test_extrapolated_fill_matches_a_pipeline_simulated_token_by_token():
    """Llama-3.2-1B on 4 devices, one prompt of 48 tokens: every token its own chunk, simulated, against the
    default two-run extrapolation."""
    exact = prefill("llama3.2-1b", 4, 1, 48, prefill_chunks=48)
    fitted = prefill("llama3.2-1b", 4, 1, 48)
    assert not any("extrapolated" in n for n in exact.notes)
    assert any("extrapolated" in n for n in fitted.notes)
    assert fitted.time_ps == pytest.approx(exact.time_ps, rel=0.01)


def test_fewer_chunks_leave_a_longer_fill():
    """The coarser the chunks, the longer the stages behind the first one wait: time falls with chunks."""
    times = [prefill("llama3.2-1b", 4, 1, 48, prefill_chunks=k).time_ps for k in (2, 8, 48)]
    assert times[0] > times[1] > times[2]


def test_n_prompts_cost_n_times_one_once_the_pipeline_is_full():
    """Prompts are independent and the pipeline fill is paid once: the time is affine in the number of
    prompts (each more adds one prompt's work, under one prompt's whole time) and the energy is linear."""
    one, two, eight = (prefill("llama3.2-1b", 4, n, 256) for n in (1, 2, 8))
    work = two.time_ps - one.time_ps
    assert 0.8 * one.time_ps < work < one.time_ps
    assert eight.time_ps - one.time_ps == pytest.approx(7 * work, rel=0.01)
    assert sum(eight.energy_J.values()) == pytest.approx(8 * sum(one.energy_J.values()), rel=0.02)


def test_a_prompt_token_streams_the_block_weights_once_over_all_devices():
    """PIM GEMVs have no weight reuse: once the pipeline is full every prompt token reads every block's
    weights once, with all devices' banks busy at once. So the time per token is at least the block weights
    over the devices' internal bandwidth, and (the pipeline overlapping its stages) within a few times it."""
    result = prefill("llama3.2-1b", 4, 1, 256)
    model, _, system = load_inputs(ScenarioSpec(model="llama3.2-1b", placement="cent", batch=1,
                                                prompt_tokens=256, output_tokens=1,
                                                system_sets=("devices.pim.count=4",)))
    head_bytes = 2 * model.vocab_size * model.hidden_size            # the LM head runs once per prompt
    internal_Bps = 4 * api.device(system.devices["pim"].config).internal_bw_Bps()
    bound_ps = (result.weight_bytes - head_bytes) / internal_Bps * 1e12
    per_token_ps = result.time_ps / 256
    assert bound_ps < per_token_ps < 3 * bound_ps


@cache
def decode(queries: int, context: int, sampling_units: int = 40):
    spec = ScenarioSpec(model="llama2-7b", placement="cent", batch=queries, prompt_tokens=context, output_tokens=1,
                        system_sets=(f"devices.host.sampling_units={sampling_units}",))
    m, p, system = load_inputs(spec)
    return run_decode_step(m, p, system, queries, context, "FP16"), system


def test_a_round_is_bound_by_one_query_or_by_the_busiest_device():
    """Llama-2-7B on 32 devices at a short context, a host sampling one token at a time: one query's round
    (32 blocks, LM head, sampling) is shorter than the host's sampling of 16 queries, so with 16 in flight
    the host sets the pace. The round is at least the larger of the two bounds and, stages serving queries
    as they come, not much more. With the preset's 40 sampling units the queries do not wait for it."""
    one, system = decode(1, 257, sampling_units=1)
    sixteen, _ = decode(16, 257, sampling_units=1)
    sampling_ps = system.devices["host"].config.sampling_time
    assert 16 * sampling_ps > one.time_ps                    # the host is the bottleneck here
    bound = max(one.time_ps, 16 * sampling_ps)
    assert bound <= sixteen.time_ps < 1.1 * bound
    assert decode(16, 257)[0].time_ps == one.time_ps


@pytest.mark.parametrize("sampling_units", [1, 40])
def test_a_longer_context_never_makes_a_round_shorter(sampling_units):
    times = [decode(16, c, sampling_units)[0].time_ps for c in (257, 700, 1184, 2048)]
    assert times == sorted(times)


def test_prefill_samples_the_prompts_first_tokens_sampling_units_at_a_time():
    """Eight prompts' first tokens: one sampling time with 40 units, eight with one."""
    def sample_ps(units):
        spec = ScenarioSpec(model="llama3.2-1b", placement="cent", batch=8, prompt_tokens=48, output_tokens=1,
                            system_sets=("devices.pim.count=4", f"devices.host.sampling_units={units}"))
        m, p, system = load_inputs(spec)
        run = run_prefill(m, p, system, 8, 48, "FP16").run
        return sum(e.end_ps - e.start_ps for e in run.events if e.name == "sample"), system
    wide, system = sample_ps(40)
    narrow, _ = sample_ps(1)
    assert wide == system.devices["host"].config.sampling_time and narrow == 8 * wide


@pytest.mark.parametrize("bad", [-1, 1.5, "many", True])
def test_bad_prefill_chunks_is_one_config_error(bad):
    with pytest.raises(ConfigError, match="prefill_chunks"):
        prefill("llama3.2-1b", 4, 1, 48, prefill_chunks=bad)


def test_sequential_prefill_is_one_decode_round_per_prompt_token():
    """``prefill: sequential`` charges prefill as CENT's simulator does: each prompt token one pass through
    all blocks, up to ``stages`` prompts in flight. Llama-3.2-1B on 4 devices (16 stages), 20 prompts of 48
    tokens: two groups (16 + 4) of 48 rounds at context 24, each the decode round of 16 queries; slower
    than streaming the tokens through the stages (the default)."""
    sequential = prefill("llama3.2-1b", 4, 20, 48, prefill="sequential")
    pipelined = prefill("llama3.2-1b", 4, 20, 48)
    spec = ScenarioSpec(model="llama3.2-1b", placement="cent", batch=16, prompt_tokens=24, output_tokens=1,
                        system_sets=("devices.pim.count=4",))
    m, p, system = load_inputs(spec)
    round_ps = run_decode_step(m, p, system, 16, 24, "FP16").time_ps
    assert sequential.time_ps == 2 * 48 * round_ps
    assert sequential.time_ps > 1.5 * pipelined.time_ps            # 96 rounds against 960 tokens / 16 stages
    assert any("as CENT's simulator" in n for n in sequential.notes)


def test_unknown_prefill_mode_is_refused():
    with pytest.raises(ConfigError, match="prefill must be 'pipelined' or 'sequential'"):
        prefill("llama3.2-1b", 4, 1, 48, prefill="chunked")
