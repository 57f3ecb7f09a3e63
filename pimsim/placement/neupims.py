"""NeuPIMs: GEMMs on the NPU, decode attention GEMVs in the PIM of its own HBM (Heo et al., ASPLOS 2024).

Each device (group ``npu``, tensor parallel) is an NPU whose HBM2 (group ``pim``,
the same memory: capacity counted once) has 16 multipliers per bank. The NPU
runs norms, the QKV / output projections, the FFN, all-reduces and prefill;
the PIM runs each decode request's score GEMV q.K^T and context GEMV s.V on the
channel that holds its KV cache (requests balanced over the channels, longest
first). Each channel's requests run one after another; score and context are
two operations with a barrier between them, as NeuPIMs schedules them. The
softmax between them runs on the NPU's vector units beside the PIM and is
folded into the score operation (NeuPIMs' logit-softmax).

Options:

* ``interleave`` (NeuPIMs' sub-batch interleaving): every channel's requests are
  split into two halves; the NPU projects one sub-batch while the PIM runs the
  other's attention, stage after stage (off: one batch, NPU and PIM in turn);
* ``dual_row_buffer``: NPU reads and PIM GEMVs share a bank without closing
  each other's rows, so they overlap. Without it they take turns on the
  memory: every run of NPU operators waits for the PIM operators before it
  in program order and the other way round, so nothing overlaps;
* ``tp``: tensor-parallel degree (default: the number of NPUs).

``npu+pim`` is NeuPIMs' naive baseline: no interleaving, no dual row buffers, on
the ``neupims-naive`` system whose PIM issues every COMP and READRES separately.

Departures: no stage barrier between the NPU's and the PIM's programs (an
operator starts when its inputs are ready); the NPU is not slowed by PIM
commands sharing its channels (NeuPIMs measures 14-20%); q, K and V reach the
PIM, and contexts the NPU, over the HBM as transfers.
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError
from pimsim.placement.base import Assignment, PassPlan, require_group
from pimsim.placement.common import kind_names
from pimsim.placement.neupims_batch import balance, halves
from pimsim.placement.neupims_stages import StageBuilder
from pimsim.placement.npu import NpuPlacement
from pimsim.trace.table import OpTable


class NeuPim(NpuPlacement, kind="neupim"):
    paper = "Heo et al., \"NeuPIMs: NPU-PIM Heterogeneous Acceleration for Batched LLM Inferencing\", ASPLOS 2024"
    description = "GEMMs on NPUs, decode attention in the PIM of their HBM; sub-batch interleaving, dual row buffers"

    @classmethod
    def options(cls) -> dict:
        return {"tp": 0, "interleave": True, "dual_row_buffer": True}

    def _flag(self, name: str) -> bool:
        value = self.opts[name]
        if not isinstance(value, bool):
            raise ConfigError(f"placement '{self.kind}' option {name} must be true or false, got {value!r}")
        return value

    def plan_lengths(self, model, lengths, precision, system_spec) -> PassPlan:
        """A decode step of ``len(lengths)`` requests attending over ``lengths`` tokens."""
        require_group(system_spec, "pim", self.kind)
        interleave, dual = self._flag("interleave"), self._flag("dual_row_buffer")
        whole = self.ragged(model, lengths, precision, system_spec)
        channels = system_spec.devices["pim"].config.partitions
        rows = {k: kind_names(whole.base).index(k) for k in ("attention_score", "attention_context")}
        load = [self.costed("pim", [whole.one(rows[k], x) for k in rows])[0] for x in lengths]
        channel_of = balance(load, channels)
        subs = halves(channel_of, channels) if interleave and len(lengths) > 1 else (list(range(len(lengths))),)
        build = StageBuilder(self, system_spec)
        traces = [self.ragged(model, [lengths[i] for i in sub], precision, system_spec) for sub in subs]
        members = [[channel_of[i] for i in sub] for sub in subs]
        build.run(traces, members, channels)
        build.in_order()
        if interleave and not dual:
            build.take_turns()
        tensors = tuple(self.tensors(model, 1, sum(lengths), system_spec, precision))
        split = (f"{len(subs)} sub-batch(es) over {channels} PIM channels; "
                 f"dual row buffers {'on' if dual else 'off'}")
        notes = (*self.notes(system_spec), split)
        table = OpTable.from_records(build.records, whole.base.meta)
        assignment = Assignment(self.kind, tuple(build.devices), tensors, streams=tuple(build.streams),
                                notes=notes, replicas=self.replicas(system_spec), trace=table,
                                fused=tuple(build.fused), priorities=tuple(build.priorities), parts=tuple(build.parts))
        return PassPlan(table, assignment, len(lengths), source=whole.table())


class NaiveNpuPim(NeuPim, kind="npu+pim"):
    paper = "naive NPU+PIM baseline of Heo et al., \"NeuPIMs\", ASPLOS 2024"
    description = "NeuPIMs' naive baseline: attention GEMVs on Newton-style PIM, NPU and PIM in turn"
    default_system = "neupims-naive"

    @classmethod
    def options(cls) -> dict:
        return {"tp": 0, "interleave": False, "dual_row_buffer": False}
