"""Workload presets and Hugging Face configs: loading, derived sizes and bad input."""

import json

import pytest

from pimsim.core.config import load_yaml
from pimsim.core.errors import ConfigError
from pimsim.core.presets import index
from pimsim.trace import load_model

ZOO = ["gpt3-175b", "opt-66b", "llama-65b", "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b",
       "mixtral-8x7b", "llama3.2-1b"]


@pytest.mark.parametrize("name", ZOO)
def test_every_zoo_model_loads_and_cites_a_source(name):
    model = load_model(name)
    assert model.name == name
    assert any(s in model.source for s in ("Hugging Face", "arXiv", "NeurIPS"))


def test_the_zoo_is_what_the_workloads_folder_holds():
    assert set(ZOO) <= set(index("workloads"))


def test_gqa_and_moe_fields():
    l70 = load_model("llama2-70b")
    assert (l70.num_attention_heads, l70.kv_heads, l70.head_size) == (64, 8, 128)
    mixtral = load_model("mixtral-8x7b")
    assert mixtral.is_moe and (mixtral.num_local_experts, mixtral.num_experts_per_tok) == (8, 2)
    assert load_model("llama3.2-1b").head_size == 64


def write_json(tmp_path, data, name="config.json"):
    folder = tmp_path / "my-model"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data))
    return path


LLAMA_JSON = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
              "intermediate_size": 11008, "num_attention_heads": 32, "num_hidden_layers": 32,
              "num_key_value_heads": 32, "vocab_size": 32000, "max_position_embeddings": 4096,
              "hidden_act": "silu", "rms_norm_eps": 1e-5, "torch_dtype": "float16", "rope_scaling": None,
              "tie_word_embeddings": False, "bos_token_id": 1}


def test_hf_config_json_loads_ignoring_fields_pimsim_does_not_use(tmp_path):
    model = load_model(str(write_json(tmp_path, LLAMA_JSON)))
    assert model.name == "my-model" and "Hugging Face" in model.source
    assert model.parameter_count() == load_model("llama2-7b").parameter_count()


def test_hf_gpt2_and_opt_spellings(tmp_path):
    gpt2 = load_model(str(write_json(tmp_path, {"model_type": "gpt2", "n_embd": 768, "n_head": 12, "n_layer": 12,
                                                "n_positions": 1024, "vocab_size": 50257, "n_inner": None,
                                                "activation_function": "gelu_new", "tie_word_embeddings": True},
                                     "gpt2.json")))
    assert gpt2.intermediate_size == 3072 and gpt2.hidden_act == "gelu"
    assert gpt2.parameter_count() == 124_439_808  # GPT-2 small, as published by HF
    opt = load_model(str(write_json(tmp_path, {"model_type": "opt", "hidden_size": 768, "ffn_dim": 3072,
                                               "num_attention_heads": 12, "num_hidden_layers": 12,
                                               "vocab_size": 50272, "max_position_embeddings": 2048,
                                               "activation_function": "relu", "tie_word_embeddings": True},
                                    "opt.json")))
    assert opt.intermediate_size == 3072 and opt.architecture.bias


def test_hf_config_missing_a_required_field_names_it(tmp_path):
    data = {k: v for k, v in LLAMA_JSON.items() if k != "num_attention_heads"}
    with pytest.raises(ConfigError, match=r"config.json: num_attention_heads: missing required key"):
        load_model(str(write_json(tmp_path, data)))


def test_hf_config_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{\n  "hidden_size": 4096,\n  oops\n}')
    with pytest.raises(ConfigError, match=r"config.json:3: not a JSON config"):
        load_model(str(path))


def workload_yaml(tmp_path, **changes):
    data = {**load_yaml("workloads/llama2-70b.yaml"), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "w.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return str(path)


def test_kv_heads_that_do_not_divide_the_heads_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"w.yaml: num_key_value_heads: 7 KV heads do not divide 64"):
        load_model(workload_yaml(tmp_path, num_key_value_heads=7))


def test_workload_missing_a_field_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"w.yaml: intermediate_size: missing required key"):
        load_model(workload_yaml(tmp_path, intermediate_size=None))


def test_workload_with_a_misspelt_field_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'num_kv_heads'"):
        load_model(workload_yaml(tmp_path, num_kv_heads=8))


def test_experts_per_token_must_fit_the_experts(tmp_path):
    with pytest.raises(ConfigError, match=r"num_experts_per_tok: must be between 1 and num_local_experts"):
        load_model(workload_yaml(tmp_path, num_local_experts=4, num_experts_per_tok=5))


def test_unknown_workload_suggests_names():
    with pytest.raises(ConfigError, match=r"did you mean 'llama2-70b'"):
        load_model("llama2-70")
