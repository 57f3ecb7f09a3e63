"""CXL-tiered memory: a GPU whose weights or KV cache spill to CXL memory expanders.

When weights and KV cache exceed the GPUs' HBM, the overflow lives in CXL.mem
expanders (group ``cxlmem``) and is brought to the GPU when an operator needs
it (as KV-cache offloading systems do, e.g. FlexGen, Sheng et al., ICML 2023,
over PCIe; here over CXL with Pond's +70-90 ns memory, Li et al., ASPLOS 2023).
What spills first is an option (``spill: kv`` or ``weights``); whole layers
spill, the last layers first. A spilled layer's KV-cache read (or weight read)
becomes an operator on an expander whose output crosses CXL, the switch, the
host and PCIe to the GPU; ``prefetch: true`` lets these reads start as soon as
the step starts (perfect prefetching, limited by the links and expanders),
``false`` issues each when its consumer is ready.

Departures: staging buffers for prefetched data are not counted against HBM;
the GPU still reads staged data from HBM.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.errors import ConfigError
from pimsim.core.units import format_bytes
from pimsim.placement.base import (
    Assignment,
    Placement,
    TensorPlacement,
    check_fits,
    first,
    model_bytes,
    require_group,
)
from pimsim.trace.table import OpTable


class CxlTiered(Placement, kind="cxl-tiered"):
    paper = "GPU with CXL.mem expansion: FlexGen-style offloading (ICML 2023) over Pond-like CXL memory (ASPLOS 2023)"
    default_system = "gpu-cxl-memory"
    description = "GPU-only, with what does not fit in HBM spilled to CXL memory expanders"

    @classmethod
    def options(cls) -> dict:
        return {"spill": "kv", "prefetch": True, "hbm_headroom": 1.0}

    def tensor_parallel(self, system_spec) -> int:
        require_group(system_spec, "gpu", self.kind)
        return system_spec.devices["gpu"].count

    def _split(self, model, batch: int, context: int, system_spec, precision: str) -> tuple[int, int, int, int]:
        """(weights in HBM, weights spilled, KV in HBM, KV spilled), in bytes."""
        for group in ("gpu", "cxlmem"):
            require_group(system_spec, group, self.kind)
        w, kv = model_bytes(model, batch, context, precision)
        hbm = int(self.costs.capacity("gpu") * self.opts["hbm_headroom"])
        if self.opts["spill"] == "kv":
            w_hbm = min(w, hbm)
            kv_hbm = min(kv, hbm - w_hbm)
        else:
            kv_hbm = min(kv, hbm)
            w_hbm = min(w, hbm - kv_hbm)
        return w_hbm, w - w_hbm, kv_hbm, kv - kv_hbm

    def tensors(self, model, batch: int, context: int, system_spec, precision: str = "FP16") -> list[TensorPlacement]:
        w_hbm, w_cxl, kv_hbm, kv_cxl = self._split(model, batch, context, system_spec, precision)
        out = [TensorPlacement("weights", "gpu", w_hbm), TensorPlacement("kv_cache", "gpu", kv_hbm)]
        if w_cxl:
            out.append(TensorPlacement("weights (spilled)", "cxlmem", w_cxl))
        if kv_cxl:
            out.append(TensorPlacement("kv_cache (spilled)", "cxlmem", kv_cxl))
        return out

    def check_capacity(self, model, batch: int, context: int, system_spec, precision: str = "FP16") -> None:
        if self.opts["spill"] not in ("kv", "weights"):
            raise ConfigError(f"option spill must be 'kv' or 'weights', got {self.opts['spill']!r}")
        check_fits(system_spec, self.tensors(model, batch, context, system_spec, precision), self.costs)

    def plan(self, model, phase, batch, tokens, precision, system_spec):
        plan = super().plan(model, phase, batch, tokens, precision, system_spec)
        w_hbm, w_cxl, kv_hbm, kv_cxl = self._split(model, batch, tokens, system_spec, precision)
        layers = model.num_hidden_layers
        spill_w = math.ceil(layers * w_cxl / max(w_hbm + w_cxl, 1))
        spill_kv = math.ceil(layers * kv_cxl / max(kv_hbm + kv_cxl, 1))
        trace, devices = self._rewrite(plan.trace, plan.assignment.devices, layers - spill_w, layers - spill_kv,
                                       system_spec.devices["cxlmem"].instances)
        note = (f"spilled to CXL: {format_bytes(w_cxl)} of weights ({spill_w} layers), "
                f"{format_bytes(kv_cxl)} of KV cache ({spill_kv} layers)")
        plan.trace = trace
        plan.assignment = dataclasses.replace(plan.assignment, devices=devices,
                                              notes=plan.assignment.notes + (note,))
        return plan

    def _rewrite(self, trace, devices, first_w: int, first_kv: int, expanders):
        """Spilled KV reads move to an expander; spilled weight reads become fetch operators."""
        records, out_dev, remap = [], [], {}
        prefetch = self.opts["prefetch"]
        for i in range(len(trace)):
            r = trace.record(i)
            deps = tuple(remap[d] for d in r.deps)
            where = devices[i]
            if r.kind == "kv_read" and r.layer >= first_kv:
                r = dataclasses.replace(r, bytes_written=r.bytes_read)
                deps = () if prefetch else deps      # the cached keys and values are there before the step
                where = expanders[r.layer % len(expanders)]
            elif r.kind == "gemm" and r.layer >= first_w and r.weight_bytes:
                fetch = dataclasses.replace(r, id=len(records), kind="recv", name=f"{r.name}.fetch", flops=0,
                                            bytes_read=r.weight_bytes, bytes_written=r.weight_bytes,
                                            deps=() if prefetch else deps)
                records.append(fetch)
                out_dev.append(expanders[r.layer % len(expanders)])
                deps = deps + (fetch.id,)
            r = dataclasses.replace(r, id=len(records), deps=deps)
            remap[i] = r.id
            records.append(r)
            out_dev.append(where)
        return OpTable.from_records(records, trace.meta), tuple(out_dev)

    def place(self, trace, system_spec) -> Assignment:
        from pimsim.placement.common import kind_names

        gpu0 = first(system_spec, "gpu")
        devices = tuple("gpu" if k == "allreduce" else gpu0 for k in kind_names(trace))
        tp = self.tensor_parallel(system_spec)
        return Assignment(self.kind, devices, (), replicas=(("gpu", tp),))
