"""GPU-only: every operator on GPUs, tensor parallel across the node.

Follows the baseline of AttAcc (Park et al., ASPLOS 2024) and the usual
Megatron-LM tensor parallelism (Shoeybi et al., 2019): the attention heads and
the FFN columns are split over the ``tp`` GPUs of group ``gpu``, two
all-reduces per layer join the shards, the KV cache of a head lives on the GPU
that owns the head. All GPUs run the same shard-sized work at the same time, so
``gpu0`` is simulated and stands for the others; the all-reduces run over the
whole group on the NVLink topology.

Departures: no pipeline parallelism; every kernel is separate (no fusion); the
GPU cost of each operator is the roofline of :mod:`pimsim.devices.roofline`.
"""

from __future__ import annotations

from pimsim.placement.base import (
    Assignment,
    Placement,
    TensorPlacement,
    first,
    model_bytes,
    require_group,
)


class GpuOnly(Placement, kind="gpu"):
    paper = "Tensor-parallel GPU baseline (Shoeybi et al., Megatron-LM, 2019; AttAcc's DGX, ASPLOS 2024)"
    default_system = "dgx-a100"
    description = "everything on GPUs, tensor parallel across the GPU group"

    @classmethod
    def options(cls) -> dict:
        return {"tp": 0}

    def tensor_parallel(self, system_spec) -> int:
        require_group(system_spec, "gpu", self.kind)
        return self.opts["tp"] or system_spec.devices["gpu"].count

    def tensors(self, model, batch: int, context: int, system_spec, precision: str = "FP16") -> list[TensorPlacement]:
        require_group(system_spec, "gpu", self.kind)
        weights, kv = model_bytes(model, batch, context, precision)
        return [TensorPlacement("weights", "gpu", weights),
                TensorPlacement("kv_cache", "gpu", kv)]

    def place(self, trace, system_spec) -> Assignment:
        tp = self.tensor_parallel(system_spec)
        kinds = trace["kind"]
        from pimsim.trace.schema import KINDS

        allreduce = KINDS.index("allreduce")
        gpu0 = first(system_spec, "gpu")
        devices = tuple("gpu" if k == allreduce else gpu0 for k in kinds)
        return Assignment(self.kind, devices, (), notes=(f"tensor parallel over {tp} GPUs; gpu0 simulated",),
                          replicas=(("gpu", tp),))
