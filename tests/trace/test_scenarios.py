"""Scenarios: precision, tensor parallelism, chunked prefill, continuous batching, presets and bad input."""

import numpy as np
import pytest

from pimsim.core.errors import ConfigError
from pimsim.trace import Scenario, generate, load_model, load_scenario, parse_precision
from pimsim.trace.batching import request_queue
from pimsim.trace.scenario import RequestClass, Routing, Speculative, scenario_names


def step(model="llama2-7b", **kw):
    return generate(model, Scenario(**{"phase": "decode", "context_tokens": 100, "output_tokens": 1, **kw}))


@pytest.mark.parametrize("text, bits", [("FP16", (16, 16, 16)), ("W4A16", (4, 16, 16)), ("W8A8", (8, 8, 16)),
                                        ("W4A16KV8", (4, 16, 8)), ("w4a16-kv8", (4, 16, 8)), ("KV8", (16, 16, 8)),
                                        ("INT8", (8, 8, 16))])
def test_precision_names(text, bits):
    p = parse_precision(text)
    assert (p.weight_bits, p.activation_bits, p.kv_bits) == bits


@pytest.mark.parametrize("text", ["W3A16", "FP12", "", "W4A16KV"])
def test_bad_precision_is_named(text):
    with pytest.raises(ConfigError, match="precision"):
        Scenario(precision=text)


def test_w4a16_quarters_the_weight_bytes_and_kv8_halves_the_cache():
    fp16, w4 = step(), step(precision="W4A16KV8")
    assert w4.where(kind="gemv").total("weight_bytes") * 4 == fp16.where(kind="gemv").total("weight_bytes")
    assert w4.where(kind="kv_read").total("bytes_read") * 2 == fp16.where(kind="kv_read").total("bytes_read")
    assert w4.total("flops") == fp16.total("flops")
    assert set(w4["weight_bits"].tolist()) == {4} and set(w4["kv_bits"].tolist()) == {8}


@pytest.mark.parametrize("tp", [2, 8])
def test_tensor_parallel_shards_keep_the_totals_and_add_allreduces(tp):
    one, many = step("llama2-70b", batch=4), step("llama2-70b", batch=4, tensor_parallel=tp)
    for kind in ("gemm", "attention_score", "attention_context"):
        assert many.where(kind=kind).total("flops") == one.where(kind=kind).total("flops")
    assert many.where(kind="gemm").total("weight_bytes") == one.where(kind="gemm").total("weight_bytes")
    qkv = many.where(name="attn.qkv", layer=0).record(0)
    assert qkv.shards == tp and qkv.n == (64 + 2 * 8) * 128 // tp
    allreduces = many.where(kind="allreduce", layer=0)
    assert len(allreduces) == 2
    volume = 4 * 8192 * 2
    assert int(allreduces["bytes_read"][0]) == 2 * (tp - 1) * volume // tp


def test_tensor_parallel_that_does_not_split_the_heads_is_named():
    with pytest.raises(ConfigError, match="tensor_parallel: 3 shards do not split"):
        step("llama2-70b", tensor_parallel=3)


def test_chunked_prefill_covers_the_prompt_with_growing_context():
    trace = generate("llama2-7b", Scenario(phase="prefill", batch=2, prompt_tokens=100, prefill_chunk_tokens=32))
    scores = trace.where(kind="attention_score", layer=0)
    assert scores["m"].tolist() == [32, 32, 32, 4] and scores["seq"].tolist() == [32, 64, 96, 100]
    assert len(trace.where(name="lm_head")) == 1  # logits only after the last chunk


def test_decode_steps_grow_the_context_by_one():
    trace = generate("llama2-7b", Scenario(phase="both", prompt_tokens=10, output_tokens=5))
    reads = trace.where(kind="kv_read", layer=3)
    assert reads["seq"].tolist() == [10, 11, 12, 13, 14]  # prefill, then 4 decode steps
    assert trace.where(phase="decode")["step"].min() == 1 and trace["step"].max() == 4


def test_dependencies_chain_layers_and_steps():
    trace = generate("llama3.2-1b", Scenario(phase="both", prompt_tokens=4, output_tokens=2))
    ids = trace["id"]
    assert np.array_equal(ids, np.arange(len(trace)))
    embeds = trace.where(kind="embedding")
    second = embeds.record(1)
    assert second.deps == (second.id - 1,)  # waits for the previous pass's lm_head
    assert trace.record(second.id - 1).name == "lm_head"
    for op in trace.where(layer=0):
        assert all(d < op.id for d in op.deps)
    score = trace.where(kind="attention_score").record(0)
    assert {trace.record(d).kind for d in score.deps} == {"rope", "kv_read"}


def test_moe_next_layer_waits_for_every_used_expert():
    trace = generate("mixtral-8x7b", Scenario(phase="decode", batch=8, context_tokens=16, output_tokens=1))
    norm = trace.where(name="attn.norm", layer=1).record(0)
    used = trace.where(kind="expert_ffn", layer=0)
    assert set(norm.deps) == set(used["id"].tolist())


def test_routing_is_reproducible_and_seeded():
    def experts(seed, policy="uniform"):
        scen = Scenario(phase="decode", batch=16, context_tokens=16, output_tokens=3,
                        routing=Routing(policy=policy, seed=seed))
        return generate("mixtral-8x7b", scen).where(kind="expert_ffn")["m"].tolist()

    assert experts(1) == experts(1) and experts(1) != experts(2)


def test_skewed_routing_concentrates_tokens():
    def busiest_share(policy):
        scen = Scenario(phase="prefill", batch=1, prompt_tokens=2000, routing=Routing(policy=policy, skew=2.0))
        e = generate("mixtral-8x7b", scen).where(kind="expert_ffn", layer=0)
        return e["m"].max() / e["m"].sum()

    assert busiest_share("uniform") < 0.15
    assert busiest_share("skewed") > 0.25


def test_recorded_histogram_routes_in_proportion():
    scen = Scenario(phase="prefill", batch=1, prompt_tokens=100,
                    routing=Routing(policy="recorded", histogram=(4, 2, 1, 1, 1, 1, 0, 0)))
    e = generate("mixtral-8x7b", scen).where(kind="expert_ffn", layer=5)
    assert dict(zip((e.names[i] for i in e["name"]), e["m"].tolist())) == {
        "moe.expert0": 80, "moe.expert1": 40, "moe.expert2": 20, "moe.expert3": 20, "moe.expert4": 20,
        "moe.expert5": 20}


def test_recorded_histogram_needs_one_entry_per_expert():
    scen = Scenario(routing=Routing(policy="recorded", histogram=(1, 2)))
    with pytest.raises(ConfigError, match="routing.histogram: has 2 entries, the model has 8 experts"):
        generate("mixtral-8x7b", scen)


def test_continuous_batching_serves_every_request_once():
    mix = (RequestClass(count=3, prompt_tokens=20, output_tokens=5),
           RequestClass(count=2, prompt_tokens=50, output_tokens=2))
    trace = generate("llama2-7b", Scenario(batch=2, requests=mix))
    # every request prefills its prompt once and decodes output - 1 tokens
    qkv = trace.where(name="attn.qkv", layer=0)
    assert qkv.total("m") == 3 * (20 + 4) + 2 * (50 + 1)
    assert trace.where(name="lm_head").total("m") == 3 * 5 + 2 * 2
    assert max(trace.where(kind="kv_write", layer=0)["batch"]) <= 2  # never more than 2 requests at once
    assert len(request_queue(Scenario(requests=mix))) == 5


def test_continuous_batching_mixes_prefill_and_decode_groups():
    mix = (RequestClass(count=2, prompt_tokens=30, output_tokens=4),
           RequestClass(count=2, prompt_tokens=30, output_tokens=10))
    trace = generate("llama2-7b", Scenario(batch=3, requests=mix))
    mixed_steps = set(trace.where(kind="attention_score", phase="prefill")["step"].tolist()) & \
        set(trace.where(kind="attention_score", phase="decode")["step"].tolist())
    assert mixed_steps  # the fourth request is prefilled while the long ones decode


def test_context_longer_than_the_model_allows_is_an_error():
    with pytest.raises(ConfigError, match="exceed llama2-7b's max_position_embeddings"):
        generate("llama2-7b", Scenario(prompt_tokens=4000, output_tokens=200))


def test_speculative_needs_a_draft_with_the_same_vocabulary():
    spec = Speculative(draft="llama3.2-1b", tokens=4, acceptance_rate=0.7)
    with pytest.raises(ConfigError, match="speculative.draft: .* must share the tokenizer"):
        generate("llama2-7b", Scenario(output_tokens=8, speculative=spec))


def test_acceptance_rate_above_one_is_named():
    with pytest.raises(ConfigError, match="acceptance_rate: 1.5 is above 1"):
        Speculative(draft="x", tokens=2, acceptance_rate=1.5)


@pytest.mark.parametrize("name", scenario_names())
def test_every_scenario_preset_generates(name):
    scenario = load_scenario(name)
    model = {"moe": "mixtral-8x7b", "long": "mixtral-8x7b", "speculative": "llama3-70b"}.get(name.split("-")[0],
                                                                                      "llama2-7b")
    trace = generate(load_model(model), scenario.__class__(**{**scenario.__dict__,
                                                               "output_tokens": min(scenario.output_tokens, 8)}))
    assert len(trace) > 0


def test_scenario_presets_exist():
    assert {"decode-batch32-ctx4096", "moe-skewed", "speculative-llama3"} <= set(scenario_names())


def test_scenario_file_with_unknown_key_is_named(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("kind: scenario\nbatch: 4\nbacth: 5\n")
    with pytest.raises(ConfigError, match=r"s.yaml: bacth: unknown key 'bacth' \(did you mean 'batch'\?\)"):
        load_scenario(str(path))
