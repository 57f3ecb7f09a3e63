"""Model configurations: the shape of a transformer, in Hugging Face field names.

A :class:`ModelConfig` is what the trace generator needs to know about a
model: sizes, head counts, experts, and the architecture family
(``model_type``), which fixes the MLP style, the normalisation and the
position encoding. It is built from a workload preset (``workloads/*.yaml``,
strict: unknown keys are errors) or from any Hugging Face ``config.json``
(lenient: fields pimsim does not use are ignored, GPT-2 and OPT spellings
such as ``n_embd`` or ``ffn_dim`` are understood).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Mapping

from pimsim.core import presets
from pimsim.core.config import build, param
from pimsim.core.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Architecture:
    """What a model family does besides its sizes."""

    gated_mlp: bool      # SwiGLU-style gate and up projections, or one up projection
    norm: str            # "rmsnorm" or "layernorm"
    positions: str       # "rope" or "learned"
    bias: bool           # linear layers carry bias vectors


_LLAMA = Architecture(gated_mlp=True, norm="rmsnorm", positions="rope", bias=False)
_GPT = Architecture(gated_mlp=False, norm="layernorm", positions="learned", bias=True)
ARCHITECTURES = {
    "llama": _LLAMA, "mistral": _LLAMA, "mixtral": _LLAMA, "qwen2": _LLAMA, "qwen3": _LLAMA,
    "gemma": _LLAMA, "phi3": _LLAMA, "opt": _GPT, "gpt2": _GPT, "gpt3": _GPT,
}
# HF spellings of other families, mapped to the Llama names used here.
HF_ALIASES = {"n_embd": "hidden_size", "n_head": "num_attention_heads", "n_layer": "num_hidden_layers",
              "n_inner": "intermediate_size", "ffn_dim": "intermediate_size", "n_positions":
              "max_position_embeddings", "activation_function": "hidden_act", "num_experts":
              "num_local_experts", "num_kv_heads": "num_key_value_heads"}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """A decoder-only transformer, described with Hugging Face config field names."""

    name: str = param("preset name, e.g. llama2-70b")
    source: str = param("where the numbers come from (HF config or paper)")
    model_type: str = param("HF architecture family: llama, mistral, mixtral, opt, gpt2, gpt3, ...")
    hidden_size: int = param("model width (d_model)", minimum=1)
    num_attention_heads: int = param("query heads per layer", minimum=1)
    num_hidden_layers: int = param("decoder layers", minimum=1)
    intermediate_size: int = param("MLP (or per-expert) inner width", minimum=1)
    vocab_size: int = param("tokens in the vocabulary", minimum=1)
    num_key_value_heads: int | None = param("KV heads (GQA); default: num_attention_heads", default=None,
                                            minimum=1)
    head_dim: int | None = param("elements per head; default hidden_size / num_attention_heads",
                                 default=None, minimum=1)
    max_position_embeddings: int = param("longest context the model was trained for", default=2048,
                                         minimum=1)
    hidden_act: str = param("MLP activation: silu, gelu, relu, ...", default="silu")
    tie_word_embeddings: bool = param("lm_head shares the embedding matrix", default=False)
    num_local_experts: int = param("experts per MoE layer; 0 for a dense model", default=0, minimum=0)
    num_experts_per_tok: int = param("experts each token is routed to", default=0, minimum=0)
    sliding_window: int | None = param("attention window in tokens; none for full attention",
                                       default=None, minimum=1)
    description: str = param("one line about the model", default="")

    def __post_init__(self):
        _check_heads(self)
        _check_experts(self)

    # -- derived sizes ------------------------------------------------------------

    @property
    def kv_heads(self) -> int:
        return self.num_key_value_heads or self.num_attention_heads

    @property
    def head_size(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def is_moe(self) -> bool:
        return self.num_local_experts > 0

    @property
    def architecture(self) -> Architecture:
        return ARCHITECTURES.get(self.model_type, _LLAMA if self.hidden_act in ("silu", "swish") else _GPT)

    def parameter_count(self) -> int:
        """Number of weights, embeddings and norms included (biases too where the family has them)."""
        return layer_parameters(self) * self.num_hidden_layers + _outer_parameters(self)

    def derived(self) -> dict:
        """Quantities computed from the configuration, shown by ``show-config --resolved``."""
        return {"parameters": self.parameter_count(), "head_size": self.head_size, "kv_heads": self.kv_heads,
                "weight_bytes_fp16": 2 * self.parameter_count(),
                "kv_cache_bytes_per_token_fp16": 2 * 2 * self.num_hidden_layers * self.kv_heads * self.head_size,
                "architecture": dataclasses.asdict(self.architecture)}


def _check_heads(cfg: ModelConfig) -> None:
    heads, kv = cfg.num_attention_heads, cfg.kv_heads
    if heads % kv:
        raise ConfigError(f"{kv} KV heads do not divide {heads} attention heads", "num_key_value_heads")
    if cfg.head_dim is None and cfg.hidden_size % heads:
        raise ConfigError(f"hidden_size {cfg.hidden_size} is not a multiple of {heads} heads; give head_dim",
                          "num_attention_heads")


def _check_experts(cfg: ModelConfig) -> None:
    if cfg.is_moe and not 1 <= cfg.num_experts_per_tok <= cfg.num_local_experts:
        raise ConfigError(f"must be between 1 and num_local_experts ({cfg.num_local_experts}), "
                          f"got {cfg.num_experts_per_tok}", "num_experts_per_tok")


def attention_parameters(cfg: ModelConfig) -> int:
    """Weights of one layer's Q, K, V and output projections (with biases if any)."""
    q_width, kv_width = cfg.num_attention_heads * cfg.head_size, cfg.kv_heads * cfg.head_size
    weights = cfg.hidden_size * (q_width + 2 * kv_width) + q_width * cfg.hidden_size
    bias = q_width + 2 * kv_width + cfg.hidden_size if cfg.architecture.bias else 0
    return weights + bias


def mlp_parameters(cfg: ModelConfig) -> int:
    """Weights of one dense MLP, or of one expert of an MoE layer."""
    matrices = 3 if cfg.architecture.gated_mlp else 2
    bias = (cfg.intermediate_size * (matrices - 1) + cfg.hidden_size) if cfg.architecture.bias else 0
    return matrices * cfg.hidden_size * cfg.intermediate_size + bias


def norm_parameters(cfg: ModelConfig) -> int:
    """Scale (and shift, for LayerNorm) of one normalisation."""
    return cfg.hidden_size * (2 if cfg.architecture.norm == "layernorm" else 1)


def layer_parameters(cfg: ModelConfig) -> int:
    experts = max(cfg.num_local_experts, 1)
    router = cfg.hidden_size * cfg.num_local_experts
    return attention_parameters(cfg) + experts * mlp_parameters(cfg) + router + 2 * norm_parameters(cfg)


def _outer_parameters(cfg: ModelConfig) -> int:
    embed = cfg.vocab_size * cfg.hidden_size
    head = 0 if cfg.tie_word_embeddings else embed
    positions = cfg.max_position_embeddings * cfg.hidden_size if cfg.architecture.positions == "learned" else 0
    return embed + head + positions + norm_parameters(cfg)


# -- loading ------------------------------------------------------------------------

def load_model(name_or_path: str) -> ModelConfig:
    """A workload preset by name (``llama2-70b``), a workload YAML, or a HF ``config.json``."""
    path = Path(name_or_path)
    if path.suffix == ".json":
        return model_from_hf_json(path)
    data, found = presets.load(name_or_path, "workloads")
    where = presets.relpath(found)
    if data.get("kind", "workload") != "workload":
        raise ConfigError(f"expected kind 'workload', got {data.get('kind')!r}", f"{where}: kind")
    data = {k: v for k, v in data.items() if k != "kind"}
    data.setdefault("name", found.stem)
    return _build_model(data, where)


def load_workload(name_or_path: str, sets=()) -> ModelConfig:
    """A workload preset or YAML with ``--set key=value`` overrides applied (``show-config --resolved``)."""
    from pimsim.core.config import apply_sets

    if not sets:
        return load_model(name_or_path)
    data, found = presets.load(name_or_path, "workloads")
    data = {k: v for k, v in apply_sets(data, sets).items() if k != "kind"}
    data.setdefault("name", found.stem)
    return _build_model(data, presets.relpath(found))


def model_from_hf_json(path: Path) -> ModelConfig:
    """Read a Hugging Face ``config.json``; unused fields are ignored, required ones must be there."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"not a JSON config: {exc}", f"{path}:{line}" if line else str(path)) from None
    if not isinstance(raw, dict):
        raise ConfigError("expected a JSON object at the top level", str(path))
    return _build_model(hf_fields(raw, Path(path)), str(path))


def _build_model(data: dict, where: str) -> ModelConfig:
    """Build and check a ModelConfig; a failed cross-field check names the file and the field."""
    try:
        return build(ModelConfig, data, where)
    except ConfigError as exc:
        if exc.where and ":" not in exc.where and exc.where != where:
            raise ConfigError(exc.message, f"{where}: {exc.where}") from None
        raise


def hf_fields(raw: Mapping, path: Path) -> dict:
    """The ModelConfig fields found in a HF config mapping, with other families' spellings renamed."""
    data = dict(raw)
    for alias, field in HF_ALIASES.items():
        if data.get(field) is None and alias in raw:
            data[field] = raw[alias]
    if data.get("intermediate_size") is None and "hidden_size" in data and data.get("model_type") == "gpt2":
        data["intermediate_size"] = 4 * data["hidden_size"]
    if data.get("hidden_act") in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        data["hidden_act"] = "gelu"
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    data = {k: v for k, v in data.items() if k in known and v is not None}
    data.setdefault("model_type", "llama")
    data.setdefault("name", path.parent.name if path.name == "config.json" else path.stem)
    data.setdefault("source", f"Hugging Face config {path}")
    return data
