"""PIM timing for ``pim-module`` devices: operator records timed by the tile-level PIM model.

Importing this module registers :class:`PimModuleTiming` with
:func:`pimsim.devices.pim_module.register_pim_timing` under the name of every
``kind: pim`` preset, so a module whose ``memory:`` (or ``pim_model:``) names
one — ``cent-cxl-aim`` (``gddr6-aim-pim``), ``attacc-hbm3-pim`` (``hbm3-pim``) —
times its PIM operators with it. A module holds ``memory_count`` copies of the
PIM memory (AttAcc: 5 stacks); an operator's rows (GEMV) or heads x sequences
(attention) are split evenly over them and run in parallel.

Operator record -> kernel:

* ``gemv`` / ``gemm`` ``(m x k) @ (k x n)``: :func:`~pimsim.pim.api.gemv` with
  ``n`` outputs, reduction ``k``, ``batch = m`` input vectors;
* ``attention_score`` / ``attention_context``: the matching API function with
  ``seq``, ``heads``, ``head_dim``, ``batch``; on GDDR6-AiM with ``partitions``
  channel groups, ``groups = partitions`` (the groups share the module's
  instruction DMA, which paces the plain memory lines of CENT's layout). The
  trace's attention operators carry their query heads only, so key/value heads
  are taken as many (GQA's shared K/V is then laid out per query head: for
  Llama-2-70B in CENT's layout 135.3 instead of 133.7 cycles per token, +1.2%);
* ``moe_router``: the gate GEMV (``n`` experts' logits over ``k``); top-k selection
  is left out (a few comparisons per token);
* ``expert_ffn``: one expert's gate and up GEMVs (``n x k`` each) and its down
  GEMV (``k x n``), one after another, for the ``m`` tokens routed to it (the
  SiLU product between them is left out, as it is a few vector operations).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from pimsim.core import presets
from pimsim.core.config import load_yaml
from pimsim.core.errors import ConfigError, SimulationError
from pimsim.devices.pim_module import PIM_TIMINGS, register_pim_timing
from pimsim.pim import api


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


#: GEMVs of more vectors than twice this are timed from two runs (this many and twice) by linearity
LINEAR_BATCH = 64


@dataclasses.dataclass(frozen=True)
class _Linear:
    """A kernel result extended linearly in the number of vectors (time and energy only)."""

    time_ps: int
    energy_J: dict

    @classmethod
    def total(cls, parts) -> _Linear:
        """Kernels run one after another: times and energies add."""
        energy: dict = {}
        for part in parts:
            for key, joules in part.energy_J.items():
                energy[key] = energy.get(key, 0.0) + joules
        return cls(sum(part.time_ps for part in parts), energy)

    @classmethod
    def extend(cls, small, large, step: int, count: int) -> _Linear:
        k = (count - step) / step           # how many more steps of ``step`` vectors beyond ``small``
        time_ps = small.time_ps + k * (large.time_ps - small.time_ps)
        energy = {key: v + k * (large.energy_J.get(key, 0.0) - v) for key, v in small.energy_J.items()}
        return cls(int(round(time_ps)), energy)


class PimModuleTiming:
    """``cost_ps(op)`` of a pim-module's PIM operators (the module's fidelity, results cached per shape)."""

    def __init__(self, config):
        name = config.pim_model if config.pim_model in PIM_TIMINGS else config.memory
        self.spec = api.device(name)
        self.copies = getattr(config, "memory_count", 1)
        partitions = getattr(config, "partitions", 1)
        total = self.spec.channels if hasattr(self.spec, "channels") else None
        self.channels = None if partitions == 1 or total is None else max(1, total // partitions)
        # the channel groups of one module share its instruction DMA (AiM): their kernels run in lockstep
        self.groups = partitions if self.channels and self.spec.arch.architecture == "aim" else 1
        self.fidelity = getattr(config, "fidelity", None)
        self._result = lru_cache(maxsize=4096)(self._compute)

    @staticmethod
    def _shape(op) -> tuple:
        return (op.kind, int(op.m), int(op.n), int(op.k), int(op.seq), int(op.heads), int(op.head_dim),
                int(op.batch))

    def cost_ps(self, op) -> int:
        return self._result(self._shape(op)).time_ps

    def energy_J(self, op) -> dict:
        """Joules by component of the whole operator (all memory copies that run a share of it)."""
        result = self._result(self._shape(op))
        return {f"pim.{k}": v * self.copies for k, v in result.energy_J.items()}

    def _compute(self, shape):
        kind, m, n, k, seq, heads, head_dim, batch = shape
        c = self.copies
        if kind in ("gemv", "gemm"):
            rows, cols = _ceil(max(n, 1), c), max(k, 1)
            if m > 2 * LINEAR_BATCH:
                # GEMVs of many vectors repeat one pass over the weights per vector: time and energy are
                # linear in the count, so two runs give the rest exactly up to where refreshes land
                small, large = (self._result(("gemv", b, n, k, seq, heads, head_dim, batch))
                                for b in (LINEAR_BATCH, 2 * LINEAR_BATCH))
                return _Linear.extend(small, large, LINEAR_BATCH, m)
            return api.gemv(self.spec, rows, cols, batch=max(m, 1), channels=self.channels,
                            fidelity=self.fidelity)
        if kind == "moe_router":                 # the gate: a GEMV of the experts' logits (top-k is negligible)
            return self._result(("gemv", m, n, k, seq, heads, head_dim, batch))
        if kind == "expert_ffn":                 # gate and up (n x k) then down (k x n), one expert's tokens
            parts = [self._result(("gemv", m, rows, cols, seq, heads, head_dim, batch))
                     for rows, cols in ((n, k), (n, k), (k, n))]
            return _Linear.total(parts)
        if kind in ("attention_score", "attention_context"):
            fn = api.attention_score if kind == "attention_score" else api.attention_context
            batch, heads = max(batch, 1), max(heads, 1)
            if batch >= c:
                batch = _ceil(batch, c)
            else:
                heads = _ceil(heads, c)
            return fn(self.spec, max(seq, 1), heads, max(head_dim, 1), batch=batch, channels=self.channels,
                      groups=self.groups, fidelity=self.fidelity)
        raise SimulationError(f"the PIM model of {self.spec.name} has no kernel for '{kind}' operators")

    def softmax_ps(self, op) -> int:
        """Softmax on the PIM memory's own unit (AttAcc: the buffer die), when the preset has one."""
        c = self.copies
        batch, heads = max(int(op.batch), 1), max(int(op.heads), 1)
        if batch >= c:
            batch = _ceil(batch, c)
        else:
            heads = _ceil(heads, c)
        return int(api.softmax_time_ps(self.spec, max(int(op.seq), 1), heads, batch))


def pim_preset_names() -> list[str]:
    """Names of every ``kind: pim`` preset (their ``preset:`` chains resolved)."""
    names = set()
    for path in set(presets.index("devices").values()):
        try:
            raw = presets.resolve(load_yaml(path), "devices", str(path))
        except ConfigError:
            continue
        if raw.get("kind") == "pim":
            names.add(str(raw.get("name", path.stem)))
    return sorted(names)


def register_all() -> None:
    for name in pim_preset_names():
        if name not in PIM_TIMINGS:
            register_pim_timing(name)(PimModuleTiming)


register_all()

from pimsim.pim import neupims_timing  # noqa: F401  (registers pim_model: neupims)
