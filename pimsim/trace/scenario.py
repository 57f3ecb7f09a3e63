"""Scenarios: how a model is served — batch, lengths, phase, precision, routing, drafts.

A :class:`Scenario` is the software half of an experiment (the model is the
other half, the hardware a third). It is a frozen dataclass built from YAML
(``workloads/scenarios/*.yaml``) or from command-line options, and checked
once, at construction.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from pimsim.core import presets
from pimsim.core.config import build, load_yaml, param
from pimsim.core.errors import ConfigError

BIT_WIDTHS = (4, 8, 16, 32)
PRECISION_ALIASES = {"FP16": "W16A16KV16", "BF16": "W16A16KV16", "FP32": "W32A32KV32",
                     "INT8": "W8A8", "INT4": "W4A16"}
_PRECISION = re.compile(r"^(?:W(\d+))?[-_ ]?(?:A(\d+))?[-_ ]?(?:KV(\d+))?$")


@dataclasses.dataclass(frozen=True)
class Precision:
    """Bit widths of weights, activations and the KV cache (``W4A16-KV8`` and friends)."""

    weight_bits: int = 16
    activation_bits: int = 16
    kv_bits: int = 16

    def __str__(self) -> str:
        return f"W{self.weight_bits}A{self.activation_bits}KV{self.kv_bits}"


def parse_precision(text: str, where: str = "precision") -> Precision:
    """``"W4A16"`` -> weights 4 bit, activations 16, KV 16; ``"W8A8KV8"``, ``"FP16"``, ``"INT8"``."""
    upper = str(text).strip().upper()
    m = _PRECISION.match(PRECISION_ALIASES.get(upper, upper))
    if not upper or not m or not any(m.groups()):
        raise ConfigError(f"cannot read precision '{text}' (expected e.g. FP16, W4A16, W8A8KV8, W16A16KV8)",
                          where)
    bits = [int(g) if g else 16 for g in m.groups()]
    for label, b in zip(("weight", "activation", "KV"), bits):
        if b not in BIT_WIDTHS:
            raise ConfigError(f"{label} width {b} bit is not one of {BIT_WIDTHS}", where)
    return Precision(*bits)


@dataclasses.dataclass(frozen=True)
class Routing:
    """How an MoE router spreads tokens over experts."""

    policy: str = param("uniform (seeded random), skewed (Zipf popularity, seeded) or recorded (histogram)",
                        default="uniform", choices=("uniform", "skewed", "recorded"))
    seed: int = param("random seed for uniform and skewed routing", default=0)
    skew: float = param("Zipf exponent of expert popularity for 'skewed'", default=1.2, minimum=0.0)
    histogram: tuple[float, ...] = param("recorded tokens per expert, one number per expert", default=())

    def __post_init__(self):
        if self.policy == "recorded" and (not self.histogram or sum(self.histogram) <= 0
                                          or min(self.histogram) < 0):
            raise ConfigError("policy 'recorded' needs a histogram of non-negative token counts",
                              "histogram")


@dataclasses.dataclass(frozen=True)
class Speculative:
    """Speculative decoding: a draft model proposes tokens, the target verifies them in one pass."""

    draft: str = param("workload preset (or config file) of the draft model")
    tokens: int = param("draft tokens proposed per round (k); the target verifies k + 1", minimum=1)
    acceptance_rate: float = param("probability a draft token is accepted (a)", minimum=0.0)

    def __post_init__(self):
        if self.acceptance_rate > 1:
            raise ConfigError(f"{self.acceptance_rate} is above 1", "acceptance_rate")

    @property
    def expected_tokens_per_round(self) -> float:
        return expected_tokens_per_verify(self.acceptance_rate, self.tokens)


def expected_tokens_per_verify(acceptance_rate: float, draft_tokens: int) -> float:
    """Tokens produced per verify pass: (1 - a^(k+1)) / (1 - a), the accepted drafts plus one."""
    a, k = acceptance_rate, draft_tokens
    if a >= 1.0:
        return float(k + 1)
    return (1.0 - a ** (k + 1)) / (1.0 - a)


@dataclasses.dataclass(frozen=True)
class RequestClass:
    """A group of identical requests in a continuous-batching mix."""

    count: int = param("number of such requests", minimum=1)
    prompt_tokens: int = param("prompt length", minimum=1)
    output_tokens: int = param("tokens generated", minimum=1)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """How the model is run: one batch of equal requests, or a continuous-batching request mix."""

    name: str = param("scenario name", default="custom")
    description: str = param("one line about the scenario", default="")
    phase: str = param("prefill, decode or both", default="both", choices=("prefill", "decode", "both"))
    batch: int = param("sequences served together (the most at once with a request mix)", default=1,
                       minimum=1)
    prompt_tokens: int = param("prompt length per sequence", default=512, minimum=1)
    output_tokens: int = param("tokens generated per sequence (decode steps with phase 'decode')",
                               default=128, minimum=1)
    context_tokens: int | None = param("phase decode: keys attended at the first decode step (cached tokens "
                                       "plus the new one); default prompt_tokens + 1", default=None, minimum=1)
    prefill_chunk_tokens: int | None = param("split the prompt into prefill passes of this many tokens",
                                             default=None, minimum=1)
    precision: str = param("bit widths, e.g. FP16, W8A8, W4A16, W4A16KV8", default="FP16")
    tensor_parallel: int = param("tensor-parallel degree (operators are per shard)", default=1, minimum=1)
    routing: Routing = param("MoE routing", default=Routing())
    speculative: Speculative | None = param("speculative decoding; none to decode normally", default=None)
    requests: tuple[RequestClass, ...] = param("continuous batching: the request mix, admitted in a "
                                               "seeded random order, at most 'batch' at once", default=())
    request_seed: int = param("seed of the admission order of a request mix", default=0)

    def __post_init__(self):
        parse_precision(self.precision, "precision")
        if self.requests and self.speculative:
            raise ConfigError("speculative decoding with a request mix is not supported", "speculative")
        if self.requests and self.phase != "both":
            raise ConfigError("a request mix runs prefill and decode: use phase 'both'", "phase")
        if self.context_tokens is not None and self.phase != "decode":
            raise ConfigError(f"applies to phase 'decode' only (phase is '{self.phase}'; the prompt sets the "
                              "context)", "context_tokens")

    @property
    def bits(self) -> Precision:
        return parse_precision(self.precision)

    @property
    def decode_start_tokens(self) -> int:
        """Tokens in the KV cache before the first decode step."""
        if self.phase == "decode" and self.context_tokens is not None:
            return self.context_tokens - 1
        return self.prompt_tokens

    @property
    def longest_sequence_tokens(self) -> int:
        """Positions the longest sequence reaches (the last generated token is never fed back)."""
        mix = max((c.prompt_tokens + c.output_tokens - 1 for c in self.requests), default=0)
        if self.phase == "prefill":
            return max(mix, self.prompt_tokens)
        return max(mix, self.decode_start_tokens + self.output_tokens - (1 if self.phase == "both" else 0))

    def as_dict(self) -> dict:
        """The scenario as plain JSON values (for trace headers)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def load_scenario(name: str) -> Scenario:
    """A scenario YAML by path, or by name from ``workloads/scenarios/``."""
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = _find_scenario(name)
    data = load_yaml(path)
    where = presets.relpath(path)
    if data.get("kind", "scenario") != "scenario":
        raise ConfigError(f"expected kind 'scenario', got {data.get('kind')!r}", f"{where}: kind")
    data = {k: v for k, v in data.items() if k != "kind"}
    data.setdefault("name", path.stem)
    return build_scenario(data, where)


def build_scenario(data: dict, where: str) -> Scenario:
    """Build and check a Scenario; a failed cross-field check names ``where`` and the field."""
    try:
        return build(Scenario, data, where)
    except ConfigError as exc:
        if exc.where and ":" not in exc.where:
            raise ConfigError(exc.message, f"{where}: {exc.where}") from None
        raise


def scenario_names() -> list[str]:
    return sorted({p.stem for d in presets.search_dirs("workloads") for p in (d / "scenarios").glob("*.yaml")})


def _find_scenario(name: str) -> Path:
    for d in presets.search_dirs("workloads"):
        candidate = d / "scenarios" / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    from pimsim.core.errors import did_you_mean

    raise ConfigError(f"unknown scenario '{name}'{did_you_mean(name, scenario_names())}")
