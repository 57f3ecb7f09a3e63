"""PIM timing of NeuPIMs pim-module devices (``pim_model: neupims``): attention operators per request.

A NeuPIMs PIM memory runs the decode attention GEMVs of requests whose KV
caches it holds, one request after another on the request's channel. A
placement splits a batch by channel (``partitions:`` = channels, one
partition per channel) and asks for the cost of each request alone on its
channel: an ``attention_score`` / ``attention_context`` record of batch 1 and
``seq`` tokens (larger batches are spread over the partition's channels).
Every other PIM operator is an error: weight GEMVs run on the NPU.
"""

from __future__ import annotations

from functools import lru_cache

from pimsim.core.errors import SimulationError
from pimsim.devices.pim_module import register_pim_timing
from pimsim.pim import api, neupims


@register_pim_timing("neupims")
class NeuPimsModuleTiming:
    """``cost_ps(op)`` / ``energy_J(op)`` of a NeuPIMs module's attention operators (the module's fidelity)."""

    def __init__(self, config):
        self.spec = api.device(config.memory)
        if not neupims.is_neupims(self.spec):
            raise SimulationError(f"pim_model neupims needs a memory of architecture neupims; {config.memory} is "
                                  f"{self.spec.arch.architecture}", config.name)
        self.channels = max(1, self.spec.channels // getattr(config, "partitions", 1))
        self.fidelity = getattr(config, "fidelity", None)
        self._result = lru_cache(maxsize=8192)(self._compute)

    def _compute(self, kind: str, seq: int, heads: int, head_dim: int, batch: int):
        if kind not in ("attention_score", "attention_context"):
            raise SimulationError(f"the NeuPIMs PIM of {self.spec.name} runs attention GEMVs only, not '{kind}'")
        piece = "score" if kind == "attention_score" else "context"
        return neupims.attention(self.spec, piece, max(seq, 1), max(heads, 1), max(head_dim, 1), max(batch, 1),
                                 channels=self.channels, fidelity=self.fidelity)

    def result(self, op):
        return self._result(op.kind, int(op.seq), int(op.heads), int(op.head_dim), int(op.batch))

    def cost_ps(self, op) -> int:
        return self.result(op).time_ps

    def energy_J(self, op) -> dict:
        return {f"pim.{k}": v for k, v in self.result(op).energy_J.items()}

    def softmax_ps(self, op) -> int:
        return int(api.softmax_time_ps(self.spec, max(int(op.seq), 1), max(int(op.heads), 1), max(int(op.batch), 1)))
