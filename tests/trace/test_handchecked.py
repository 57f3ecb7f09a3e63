"""Fidelity: generated traces against numbers worked out by hand from the model configs."""

import math

import numpy as np
import pytest

from pimsim.trace import Scenario, expected_tokens_per_verify, generate, load_model


def decode_step(model, batch=1, context=128, **kw):
    return generate(model, Scenario(phase="decode", batch=batch, context_tokens=context, output_tokens=1, **kw))


def test_llama2_7b_has_6_74e9_parameters():
    assert load_model("llama2-7b").parameter_count() == 6_738_415_616


@pytest.mark.parametrize("name, billions", [("gpt3-175b", 174.6), ("opt-66b", 65.7), ("llama-65b", 65.3),
                                            ("llama2-13b", 13.0), ("llama2-70b", 69.0), ("llama3-8b", 8.03),
                                            ("llama3-70b", 70.6), ("mixtral-8x7b", 46.7), ("llama3.2-1b", 1.24)])
def test_zoo_parameter_counts_match_the_published_sizes(name, billions):
    assert load_model(name).parameter_count() / 1e9 == pytest.approx(billions, rel=0.005)


def test_llama2_7b_decode_batch1_reads_13_5_GB_of_fp16_weights():
    model = load_model("llama2-7b")
    trace = decode_step(model)
    # every weight once, except the embedding table, of which one row is gathered
    embedding = model.vocab_size * model.hidden_size
    exact = 2 * (model.parameter_count() - embedding + model.hidden_size)
    assert trace.total("weight_bytes") == exact
    assert trace.total("weight_bytes") == pytest.approx(13.5e9, rel=0.025)


def test_llama2_70b_kv_cache_per_token_per_layer_is_2x8x128x2_bytes():
    trace = decode_step("llama2-70b", context=1000)
    writes = trace.where(kind="kv_write", layer=0)
    assert len(writes) == 1
    assert int(writes["bytes_written"][0]) == 2 * 8 * 128 * 2
    # and the step reads the whole cache of 1000 positions at that size, in every layer
    reads = trace.where(kind="kv_read")
    assert len(reads) == 80 and set(reads["bytes_read"].tolist()) == {1000 * 2 * 8 * 128 * 2}


@pytest.mark.parametrize("batch", [1, 8, 64])
def test_decode_flops_are_about_2_x_parameters_x_batch(batch):
    model = load_model("llama2-7b")
    trace = decode_step(model, batch=batch, context=64)
    matmul_params = model.parameter_count() - model.vocab_size * model.hidden_size  # no FLOPs in a lookup
    gemm_flops = trace.where(kind="gemm" if batch > 1 else "gemv").total("flops")
    assert gemm_flops == 2 * batch * (matmul_params - (2 * model.num_hidden_layers + 1) * model.hidden_size)
    assert trace.total("flops") == pytest.approx(2 * model.parameter_count() * batch, rel=0.03)


def test_gqa_shrinks_only_the_kv_side():
    mha, gqa = decode_step("llama2-13b", context=512), decode_step("llama3-8b", context=512)
    def per_layer(t):
        return int(t.where(kind="kv_read", layer=0)["bytes_read"][0])
    assert per_layer(mha) == 512 * 2 * 40 * 128 * 2
    assert per_layer(gqa) == 512 * 2 * 8 * 128 * 2
    score = gqa.where(kind="attention_score", layer=0).record(0)
    assert score.heads == 32 and score.flops == 2 * 32 * 512 * 128  # every query head still scores


def test_moe_reads_only_the_selected_experts():
    model = load_model("mixtral-8x7b")
    trace = decode_step(model, context=32)
    experts = trace.where(kind="expert_ffn")
    expert_bytes = 3 * model.hidden_size * model.intermediate_size * 2
    assert len(experts) == 2 * model.num_hidden_layers  # batch 1, top-2: two experts per layer
    assert set(experts["weight_bytes"].tolist()) == {expert_bytes}
    dense_equivalent = model.num_hidden_layers * model.num_local_experts * expert_bytes
    assert trace.total("weight_bytes") < 0.4 * dense_equivalent


def test_moe_expert_tokens_add_up_to_tokens_times_top_k():
    trace = generate("mixtral-8x7b", Scenario(phase="prefill", batch=2, prompt_tokens=100))
    per_layer = np.bincount(trace.where(kind="expert_ffn")["layer"], weights=trace.where(kind="expert_ffn")["m"])
    assert per_layer.tolist() == [2 * 100 * 2] * 32


@pytest.mark.parametrize("a, k, expected", [(0.0, 4, 1.0), (0.5, 1, 1.5), (0.5, 3, 1.875), (0.8, 4, 3.3616),
                                            (1.0, 4, 5.0)])
def test_speculative_tokens_per_verify_step(a, k, expected):
    assert expected_tokens_per_verify(a, k) == pytest.approx(expected)
    if a < 1:  # the closed form is the sum of P(first i drafts accepted) = a^i, i = 0..k
        assert expected_tokens_per_verify(a, k) == pytest.approx(sum(a ** i for i in range(k + 1)))


def test_speculative_trace_has_k_draft_passes_per_verify_of_k_plus_1_tokens():
    from pimsim.trace.scenario import Speculative

    spec = Speculative(draft="llama3.2-1b", tokens=3, acceptance_rate=0.6)
    trace = generate("llama3-8b", Scenario(phase="decode", batch=2, context_tokens=100, output_tokens=40,
                                           speculative=spec))
    rounds = math.ceil(40 / expected_tokens_per_verify(0.6, 3))
    verify_steps = np.unique(trace.where(phase="verify")["step"])
    draft_steps = np.unique(trace.where(phase="draft")["step"])
    assert len(verify_steps) == rounds and len(draft_steps) == 3 * rounds
    qkv = trace.where(phase="verify", name="attn.qkv").record(0)
    assert qkv.m == 2 * (3 + 1)
    assert trace.where(phase="verify", name="lm_head").record(0).m == 2 * 4
    assert set(trace.where(phase="draft")["layer"].tolist()) == set(range(-1, 16))  # the 1B model's 16 layers
