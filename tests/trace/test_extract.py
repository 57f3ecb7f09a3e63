"""Extraction from real transformers modules on the meta device agrees with the analytic generator.

Needs the optional extra ``[extract]`` (torch, transformers); skipped without it.
"""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from pimsim.trace import Scenario, generate, load_model  # noqa: E402
from pimsim.trace.extract import extract_layer, layer_totals  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")


def analytic_layer0(model, scenario):
    return generate(model, scenario).where(layer=0)


def expert_tokens(layer):
    counts = [0] * layer.meta["model"]["num_local_experts"]
    for op in layer.where(kind="expert_ffn"):
        counts[int(op.name.removeprefix("moe.expert"))] = op.m
    return counts


def moved(totals):
    return totals["bytes_read"] + totals["bytes_written"]


@pytest.mark.parametrize("name", ["llama2-7b", "llama3-8b", "mixtral-8x7b"])  # dense, GQA, MoE
@pytest.mark.parametrize("batch, context", [(1, 64), (4, 256)])
def test_decode_layer_flops_and_bytes_within_1_percent(name, batch, context):
    model = load_model(name)
    layer = analytic_layer0(model, Scenario(phase="decode", batch=batch, context_tokens=context, output_tokens=1))
    counts = expert_tokens(layer) if model.is_moe else None
    extracted = layer_totals(extract_layer(model, batch, 1, context, expert_tokens=counts))
    analytic = {c: layer.total(c) for c in ("flops", "bytes_read", "bytes_written", "weight_bytes")}
    assert extracted["weight_bytes"] == analytic["weight_bytes"]
    assert extracted["flops"] == pytest.approx(analytic["flops"], rel=0.01)
    assert moved(extracted) == pytest.approx(moved(analytic), rel=0.01)


@pytest.mark.parametrize("name", ["llama2-7b", "llama3-8b", "mixtral-8x7b"])
def test_prefill_layer_flops_within_1_percent(name):
    model = load_model(name)
    layer = analytic_layer0(model, Scenario(phase="prefill", batch=2, prompt_tokens=128))
    counts = expert_tokens(layer) if model.is_moe else None
    extracted = layer_totals(extract_layer(model, 2, 128, 128, expert_tokens=counts))
    assert extracted["flops"] == pytest.approx(layer.total("flops"), rel=0.01)
    assert extracted["weight_bytes"] == layer.total("weight_bytes")


def test_moe_extraction_reads_only_the_experts_given_tokens():
    model = load_model("mixtral-8x7b")
    one = layer_totals(extract_layer(model, 1, 1, 16, expert_tokens=[1, 0, 0, 0, 0, 0, 0, 1]))
    three = layer_totals(extract_layer(model, 2, 1, 16, expert_tokens=[1, 1, 0, 0, 0, 0, 0, 2]))
    expert = 3 * model.hidden_size * model.intermediate_size * 2
    assert three["weight_bytes"] - one["weight_bytes"] == expert


def test_eager_copies_are_visible_without_the_serving_view():
    ops = extract_layer(load_model("llama3-8b"), 2, 1, 512)
    assert moved(layer_totals(ops, serving=False)) > moved(layer_totals(ops)) * 1.01


def test_unsupported_family_is_a_config_error():
    from pimsim.core.errors import ConfigError

    with pytest.raises(ConfigError, match="model_type"):
        extract_layer(load_model("opt-66b"))
