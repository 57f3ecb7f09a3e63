"""UPMEM: the decode GEMVs and attention on DRAM processing units, the rest on the host CPU.

Follows the way LLM inference has been mapped onto UPMEM servers (weights and
KV cache resident in the DPUs' MRAM banks, the host running everything that is
not a matrix-vector product; cf. PrIM's GEMV and the PIM-LLM studies built on
it): weight products (``gemm`` at decode, ``gemv``), the attention products and
the KV-cache reads and writes run on the DPUs (group ``upmem``), which also
hold the weights and the KV cache; norms, softmax, rotary, activations,
embeddings and the prefill's large GEMMs run on the host (group ``host``).
Moving inputs and results between host and DPUs is part of the DPU device's
cost (serial or parallel host transfers, PrIM Figs. 10-11).

Departures: DPUs compute in the operators' precision as emulated arithmetic
(FP16 weights run as the UPMEM model's ``fp32``/``int`` kernels would): see
pimsim.devices.upmem_kernels; no overlap of host and DPU work within a layer.
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
from pimsim.placement.common import by_kind, kind_names

DPU_KINDS = ("gemv", "attention_score", "attention_context", "kv_read", "kv_write")


class Upmem(Placement, kind="upmem"):
    paper = "Gomez-Luna et al., PrIM (IEEE Access 2022): GEMV on UPMEM DPUs, host for the rest"
    default_system = "upmem-server"
    description = "decode GEMVs and attention on UPMEM DPUs, the rest on the host CPU"

    @classmethod
    def options(cls) -> dict:
        return {"prefill_on": "host"}

    def tensors(self, model, batch: int, context: int, system_spec, precision: str = "FP16") -> list[TensorPlacement]:
        for group in ("upmem", "host"):
            require_group(system_spec, group, self.kind)
        weights, kv = model_bytes(model, batch, context, precision)
        return [TensorPlacement("weights", "upmem", weights),
                TensorPlacement("kv_cache", "upmem", kv)]

    def place(self, trace, system_spec) -> Assignment:
        kinds = kind_names(trace)
        decode = any(k == "kv_read" for k in kinds)
        dpu, host = first(system_spec, "upmem"), first(system_spec, "host")
        on_dpu = {k: dpu for k in DPU_KINDS}
        if decode or self.opts["prefill_on"] == "upmem":
            on_dpu["gemm"] = dpu
        devices = by_kind(trace, on_dpu, host)
        return Assignment(self.kind, devices, (), notes=("weights and KV cache in DPU MRAM",))
