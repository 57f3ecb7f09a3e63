"""Extraction: the operators of one real transformers decoder layer, run on PyTorch's meta device.

The model is built from its configuration with ``transformers`` on the meta
device (shapes and dtypes only: no weights, no download, no arithmetic), one
decoder layer is called on meta inputs with a KV cache of the requested
length, and every ATen operator it dispatches is recorded with its shapes,
bytes and FLOPs (:class:`_Recorder`). This checks the analytic generator
against the code that actually runs. Needs the extra ``pip install '.[extract]'``.

Conventions, to compare like with like: views cost nothing; any other operator
reads its tensor inputs and writes its outputs; products count 2 per
multiply-add; element-wise FLOPs per element follow :mod:`pimsim.trace.shard`.
MoE dispatch is data-dependent (``nonzero``), which the meta device cannot
run, so the layer's expert module is called with a given token count per
expert instead (:func:`_dispatch_with_counts`).
"""

from __future__ import annotations

import dataclasses
import sys
import types

from pimsim.core.errors import ConfigError
from pimsim.trace.model import ModelConfig
from pimsim.trace.shard import ACTIVATION_FLOPS, SOFTMAX_FLOPS

HF_MODEL_TYPES = ("llama", "mistral", "mixtral", "qwen2")
_PRODUCTS = {"mm", "addmm", "bmm", "baddbmm"}
# Data movement (no arithmetic) and allocation (no traffic either) among the ATen calls of a layer.
_MOVES = {"_to_copy", "copy_", "clone", "cat", "index", "index_add_", "zeros_like", "zeros", "new_zeros", "full",
          "ones_like", "one_hot", "topk"}
_ALLOCATES = {"empty", "empty_like", "new_empty", "empty_strided", "arange", "lift_fresh", "detach",
              "_local_scalar_dense"}
_VIEWS = {"view", "t", "transpose", "expand", "select", "slice", "unsqueeze", "squeeze", "split", "_unsafe_view",
          "permute", "alias", "unbind", "split_with_sizes", "narrow", "as_strided"}
_ELEMENT_FLOPS = {"silu": ACTIVATION_FLOPS["silu"], "gelu": ACTIVATION_FLOPS["gelu"],
                  "_softmax": SOFTMAX_FLOPS, "relu": 1}


@dataclasses.dataclass(frozen=True)
class ExtractedOp:
    """One ATen operator the layer dispatched, with the module that called it."""

    module: str
    aten: str
    flops: int
    bytes_read: int
    bytes_written: int
    weight_bytes: int
    serving_read: int     # bytes_read as a serving kernel moves them (see layer_totals)
    serving_written: int


def _torch():
    try:
        import torch
        import transformers
    except ImportError:
        raise ConfigError("extraction needs torch and transformers: pip install '.[extract]'") from None
    return torch, transformers


def hf_config(model: ModelConfig):
    """A one-layer transformers config for ``model``, eager attention."""
    _, transformers = _torch()
    if model.model_type not in HF_MODEL_TYPES:
        raise ConfigError(f"extraction supports model types {', '.join(HF_MODEL_TYPES)}, not "
                          f"'{model.model_type}'", f"{model.name}: model_type")
    fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)
              if f.name not in ("name", "source", "description", "model_type") and getattr(model, f.name) is not None}
    fields.update(num_hidden_layers=1, num_key_value_heads=model.kv_heads, head_dim=model.head_size)
    if not model.is_moe:
        fields.pop("num_local_experts"), fields.pop("num_experts_per_tok")
    return transformers.AutoConfig.for_model(model.model_type, **fields)


def extract_layer(model: ModelConfig, batch: int = 1, query_tokens: int = 1, context_tokens: int = 128,
                  expert_tokens: list[int] | None = None) -> list[ExtractedOp]:
    """Record the operators of decoder layer 0 for ``batch`` sequences of ``query_tokens`` new tokens
    attending ``context_tokens`` keys each (FP16). For MoE, ``expert_tokens[e]`` tokens go to expert e."""
    torch, transformers = _torch()
    if context_tokens < query_tokens:
        raise ConfigError(f"context {context_tokens} is shorter than the {query_tokens} new tokens")
    config = hf_config(model)
    with torch.device("meta"):
        lm = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float16,
                                                           attn_implementation="eager")
    layer = lm.model.layers[0]
    if model.is_moe:
        _dispatch_with_counts(layer.mlp.experts, expert_tokens, model)
    hidden = torch.empty(batch, query_tokens, model.hidden_size, device="meta", dtype=torch.float16)
    positions = torch.arange(context_tokens - query_tokens, context_tokens, device="meta").expand(batch, -1)
    rope = lm.model.rotary_emb(hidden, positions)
    cache = _cache_with(torch, transformers, config, model, batch, context_tokens - query_tokens)
    with _Recorder(torch, layer) as recorder:
        recorder.label_calls(cache, "update", "kv_cache.update")
        recorder.label_calls(sys.modules[type(layer.self_attn).__module__], "repeat_kv", "attn.repeat_kv",
                             grouped=True)
        layer(hidden, position_embeddings=rope, cache=cache, position_ids=positions)
    return recorder.ops


def _cache_with(torch, transformers, config, model: ModelConfig, batch: int, past_tokens: int):
    cache = transformers.DynamicCache(config=config)
    shape = (batch, model.kv_heads, past_tokens, model.head_size)
    cache.update(torch.empty(shape, device="meta", dtype=torch.float16),
                 torch.empty(shape, device="meta", dtype=torch.float16), 0)
    return cache


def _dispatch_with_counts(experts, expert_tokens, model: ModelConfig) -> None:
    """Make the expert module run each expert's own weights on its given number of tokens."""
    import torch
    from torch.nn import functional

    if not hasattr(experts, "gate_up_proj"):
        raise ConfigError("this transformers version stores experts differently; extraction expects "
                          "MixtralExperts with gate_up_proj and down_proj (transformers 5)")
    counts = list(expert_tokens or [])
    if len(counts) != model.num_local_experts:
        raise ConfigError(f"expert_tokens needs {model.num_local_experts} counts, got {len(counts)}")

    def forward(self, hidden_states, top_k_index, top_k_weights):
        out = torch.zeros_like(hidden_states)
        for expert, tokens in enumerate(counts):
            if tokens == 0:
                continue
            rows = hidden_states.new_empty((tokens, hidden_states.shape[-1]))
            gate, up = functional.linear(rows, self.gate_up_proj[expert]).chunk(2, dim=-1)
            result = functional.linear(self.act_fn(gate) * up, self.down_proj[expert])
            result = result * top_k_weights.new_empty((tokens, 1))
            out.index_add_(0, torch.zeros(tokens, dtype=torch.long, device=out.device), result)
        return out

    experts.forward = types.MethodType(forward, experts)


class _Recorder:
    """A TorchDispatchMode that logs every ATen call inside ``layer`` with the calling module."""

    def __init__(self, torch, layer):
        from torch.utils._python_dispatch import TorchDispatchMode

        recorder = self
        self.ops: list[ExtractedOp] = []
        self.stack = ["layer"]
        self.weights = {id(p) for p in layer.parameters()}
        self.keep = list(layer.parameters())
        self._restore: list = []
        self.repeats: dict[int, int] = {}  # id of a repeat_kv result -> copies of each KV head
        self._hooks = [h for name, mod in layer.named_modules() if name for h in self._hook(mod, name)]

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types_, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                recorder.record(torch, func, args, kwargs or {}, out)
                return out

        self.mode = Mode()

    def _hook(self, module, name):
        def enter(*_):
            self.stack.append(name)

        def leave(*_):
            self.stack.pop()  # a hook that returns a value would replace the module's output

        return module.register_forward_pre_hook(enter), module.register_forward_hook(leave)

    def label_calls(self, obj, method: str, label: str, grouped: bool = False) -> None:
        """Attribute the operators of ``obj.method`` (not a module) to ``label``; with ``grouped``,
        remember its result (``repeat_kv(x, n_rep)``) as ``n_rep`` copies of a KV head."""
        original = getattr(obj, method)

        def labelled(*args, **kwargs):
            self.stack.append(label)
            try:
                out = original(*args, **kwargs)
            finally:
                self.stack.pop()
            if grouped:
                self.repeats[id(out)] = int(args[1])
                self.keep.append(out)
            return out

        setattr(obj, method, labelled)
        self._restore.append((obj, method, original))

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        self.mode.__exit__(*exc)
        for h in self._hooks:
            h.remove()
        for obj, method, original in self._restore:
            setattr(obj, method, original)

    def record(self, torch, func, args, kwargs, out) -> None:
        name = func.overloadpacket.__name__
        inputs = [t for t in _tensors(torch, (args, kwargs))]
        outputs = [t for t in _tensors(torch, out)]
        if getattr(func, "is_view", False) or name in _VIEWS:
            if any(id(t) in self.weights for t in inputs):
                self.weights.update(id(t) for t in outputs)
            copies = max((self.repeats.get(id(t), 0) for t in inputs), default=0)
            if copies:
                self.repeats.update((id(t), copies) for t in outputs)
            self.keep.extend(outputs)  # ids stay unique while the tensors live
            return
        read = sum(_nbytes(t) for t in inputs)
        weights = sum(_nbytes(t) for t in inputs if id(t) in self.weights)
        written = sum(_nbytes(t) for t in outputs)
        if name in _ALLOCATES:
            read = written = 0
        serving_read, serving_written = self._serving_bytes(inputs, read, written)
        self.ops.append(ExtractedOp(self.stack[-1], name, _flops(name, inputs, outputs), read, written, weights,
                                    serving_read, serving_written))

    def _serving_bytes(self, inputs, read: int, written: int) -> tuple[int, int]:
        """Bytes without the cache copy and the GQA head copies of eager transformers."""
        where = self.stack[-1]
        if where == "kv_cache.update":  # DynamicCache copies the cache to append: a paged cache appends
            appended = _nbytes(inputs[-1]) if inputs else 0
            return appended, appended
        if where == "attn.repeat_kv":
            return 0, 0
        shared = sum(_nbytes(t) - _nbytes(t) // self.repeats[id(t)] for t in inputs if id(t) in self.repeats)
        return read - shared, written


def _tensors(torch, tree):
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _tensors(torch, item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from _tensors(torch, item)


def _nbytes(t) -> int:
    return t.numel() * t.element_size()


def _flops(name: str, inputs, outputs) -> int:
    """FLOPs of one ATen call: 2 per multiply-add for products, a per-element count otherwise."""
    if name in _PRODUCTS:
        a, b = inputs[-2], inputs[-1]
        product = 2 * a.numel() * b.shape[-1]
        return product + (outputs[0].numel() if name in ("addmm", "baddbmm") else 0)
    if name in _MOVES or name in _ALLOCATES or not outputs:
        return 0
    largest = max(t.numel() for t in list(inputs) + list(outputs))
    return _ELEMENT_FLOPS.get(name, 1) * largest


def layer_totals(ops: list[ExtractedOp], serving: bool = True) -> dict[str, int]:
    """FLOPs and bytes of a recorded layer, summed.

    With ``serving``, two copies that eager transformers makes and a serving
    kernel (and the analytic generator) does not are left out: DynamicCache
    copies the whole cache to append a token, where a paged cache (vLLM)
    writes only the new keys and values; GQA's ``repeat_kv`` copies each KV
    head for every query head, where a grouped kernel reads it once.
    """
    read = "serving_read" if serving else "bytes_read"
    written = "serving_written" if serving else "bytes_written"
    return {"flops": sum(op.flops for op in ops), "bytes_read": sum(getattr(op, read) for op in ops),
            "bytes_written": sum(getattr(op, written) for op in ops),
            "weight_bytes": sum(op.weight_bytes for op in ops)}
