"""NPU-only: every operator on NPUs, tensor parallel, the baseline of NeuPIMs (Heo et al., ASPLOS 2024).

The NPUs (group ``npu``) hold the weights and the KV cache in their HBM and run
every operator; the model is split over them by tensor parallelism (heads and
FFN columns; two all-reduces per layer), ``npu0`` simulated for all. Decode
attention reads the KV cache from plain HBM, and on NeuPIMs' NPU
(``serial_attention``) its GEMVs run one request and head at a time, paying the
systolic arrays' fill and drain each time.

:meth:`NpuOnly.plan_lengths` simulates a decode step whose requests attend over
different lengths (as NeuPIMs' ShareGPT traces): attention operators are costed
request by request and summed. A PIM group of the system is left unused.

Departures: NeuPIMs' NPU-only simulator also runs per-request split, reshape
and concatenation operators around its fused attention (about 2.5k cycles per
request on its trace), which pimsim does not model.
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError
from pimsim.placement.base import (
    Assignment,
    PassPlan,
    Placement,
    TensorPlacement,
    first,
    model_bytes,
    require_group,
)
from pimsim.placement.common import kind_names
from pimsim.placement.neupims_batch import Ragged

RAGGED_KINDS = ("kv_read", "attention_score", "softmax", "attention_context")


class NpuPlacement(Placement):
    """What the NPU-only and NeuPIMs placements share: NPU group, tensor parallelism, tensors, prefill."""

    default_system = "neupims"

    @classmethod
    def options(cls) -> dict:
        return {"tp": 0}

    def tensor_parallel(self, system_spec) -> int:
        require_group(system_spec, "npu", self.kind)
        tp = self.opts["tp"] or system_spec.devices["npu"].count
        if not isinstance(tp, int) or tp < 1:
            raise ConfigError(f"placement '{self.kind}' option tp must be a positive integer, got {tp!r}")
        return tp

    def tensors(self, model, batch, context, system_spec, precision="FP16") -> list[TensorPlacement]:
        """Weights and KV cache in the NPUs' HBM (a PIM group is that same memory: counted once)."""
        weights, kv = model_bytes(model, batch, context, precision)
        self.tensor_parallel(system_spec)
        return [TensorPlacement("weights", "npu", weights), TensorPlacement("kv_cache", "npu", kv)]

    def notes(self, system_spec) -> tuple[str, ...]:
        tp, count = self.tensor_parallel(system_spec), system_spec.devices["npu"].count
        alone = " (the other shards and the all-reduces' partners not simulated)" if count < tp else ""
        return (f"tensor parallel over {tp} NPUs, npu0 simulated{alone}",)

    def replicas(self, system_spec) -> tuple:
        tp = self.tensor_parallel(system_spec)
        return (("npu", tp),) + ((("pim", tp),) if "pim" in system_spec.devices else ())

    def place(self, trace, system_spec) -> Assignment:
        """Every operator on the first NPU (prefill, and decode with equal lengths)."""
        npu = first(system_spec, "npu")
        devices = tuple("npu" if k == "allreduce" else npu for k in kind_names(trace))
        return Assignment(self.kind, devices, (), notes=self.notes(system_spec), replicas=self.replicas(system_spec))

    def plan(self, model, phase, batch, tokens, precision, system_spec) -> PassPlan:
        if phase != "decode":
            return super().plan(model, phase, batch, tokens, precision, system_spec)
        return self.plan_lengths(model, (tokens,) * batch, precision, system_spec)

    def ragged(self, model, lengths, precision, system_spec) -> Ragged:
        def gen(context: int):
            from pimsim.trace import generate

            return generate(model, self.scenario("decode", len(lengths), context, precision, system_spec))

        return Ragged(gen, lengths)

    def costed(self, group: str, recs) -> tuple[int, dict]:
        """Summed time and energy of operators ``recs`` run one after another on ``group``."""
        cache = self.__dict__.setdefault("_costs", {})
        total, energy = 0, {}
        for rec in recs:
            key = (group, rec.kind, rec.m, rec.n, rec.k, rec.seq, rec.heads, rec.head_dim, rec.bytes_read, rec.flops)
            if key not in cache:
                ps = self.costs.cost_ps(group, rec)
                cache[key] = (ps, self.costs.energy_J(group, rec, ps))
            ps, joules = cache[key]
            total += ps
            for k, v in joules.items():
                energy[k] = energy.get(k, 0.0) + v
        return total, energy


class NpuOnly(NpuPlacement, kind="npu"):
    paper = "NPU-only baseline of Heo et al., \"NeuPIMs\", ASPLOS 2024"
    description = "everything on NPUs (tensor parallel); decode attention reads the KV cache from plain HBM"

    def plan_lengths(self, model, lengths, precision, system_spec) -> PassPlan:
        """A decode step of ``len(lengths)`` requests attending over ``lengths`` tokens."""
        ragged = self.ragged(model, lengths, precision, system_spec)
        table = ragged.table()
        assignment = self.place(table, system_spec)
        fused = ()
        if ragged.step is not None:
            rows = [i for i, k in enumerate(kind_names(table)) if k in RAGGED_KINDS]
            fused = tuple((i, *self.costed("npu", [ragged.one(i, x) for x in ragged.lengths])) for i in rows)
        tensors = tuple(self.tensors(model, 1, sum(lengths), system_spec, precision))   # KV of every token once
        assignment = Assignment(self.kind, assignment.devices, tensors, notes=assignment.notes,
                                replicas=assignment.replicas, trace=table, fused=fused)
        return PassPlan(table, assignment, len(lengths), source=table)
