"""Invariants every generated trace keeps, over random scenarios; and the layering rule."""

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pimsim.trace import Scenario, generate, load_model

MODELS = {name: load_model(name) for name in ("llama3.2-1b", "llama2-7b", "mixtral-8x7b", "opt-66b")}

scenarios = st.builds(
    Scenario, phase=st.sampled_from(["prefill", "decode", "both"]), batch=st.integers(1, 6),
    prompt_tokens=st.integers(1, 40), output_tokens=st.integers(1, 5),
    precision=st.sampled_from(["FP16", "W4A16", "W8A8KV8", "W4A16KV4"]), tensor_parallel=st.sampled_from([1, 2, 4]),
    prefill_chunk_tokens=st.one_of(st.none(), st.integers(1, 16)))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(MODELS)), scenarios)
def test_generated_traces_are_well_formed(name, scenario):
    model = MODELS[name]
    trace = generate(model, scenario)
    ids = trace["id"]
    assert np.array_equal(ids, np.arange(len(trace)))
    rows = np.repeat(ids, np.diff(trace.dep_ptr))
    assert np.all(trace.dep_ids < rows)  # an operator waits only for earlier ones
    assert np.all(trace["weight_bytes"] <= trace["bytes_read"])
    for column in ("flops", "bytes_read", "bytes_written", "m", "n", "k", "seq"):
        assert trace[column].min() >= 0
    # every token of every pass is written to every layer's KV cache once, at the cache's width
    writes = trace.where(kind="kv_write")
    kv_heads = max(1, model.kv_heads // scenario.tensor_parallel)
    expected = (writes["m"] * 2 * kv_heads * model.head_size * scenario.bits.kv_bits + 7) // 8
    assert np.array_equal(writes["bytes_written"], expected)
    assert set(np.bincount(writes["layer"]).tolist()) == {len(np.unique(writes["step"]))}


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 16), st.integers(2, 3000))
def test_decode_cost_grows_with_context_only_in_attention(batch, context):
    model = MODELS["llama2-7b"]
    short = generate(model, Scenario(phase="decode", batch=batch, context_tokens=1, output_tokens=1))
    long = generate(model, Scenario(phase="decode", batch=batch, context_tokens=context, output_tokens=1))
    assert long.total("weight_bytes") == short.total("weight_bytes")
    extra_kv = long.where(kind="kv_read").total("bytes_read") - short.where(kind="kv_read").total("bytes_read")
    assert extra_kv == batch * (context - 1) * 2 * model.kv_heads * model.head_size * 2 * model.num_hidden_layers
    extra_flops = long.total("flops") - short.total("flops")
    per_key = model.num_hidden_layers * batch * model.num_attention_heads * (4 * model.head_size + 5)
    assert extra_flops == per_key * (context - 1)


def test_trace_package_never_imports_simpy_or_h5py_on_import():
    code = ("import sys, pimsim.trace, pimsim.trace.generate, pimsim.trace.files, pimsim.trace.summary;"
            "print(sorted(m for m in ('simpy', 'h5py', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
