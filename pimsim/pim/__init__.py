"""In-bank processing-in-memory: PIM command sets, kernels, and two models of their time and energy.

A PIM device (``devices/*.yaml`` with ``kind: pim``) is a DRAM preset plus a PIM
*architecture* (``pimsim/pim/archs/*.yaml``): the extra commands its banks
understand (all-bank MAC, element-wise, buffer writes, result read-out, mode
switches) and the timing rules that bind them, layered on the DRAM family's own
rules. Kernels (GEMV, element-wise, attention pieces) compile to per-channel
command streams with documented data layouts (:mod:`pimsim.pim.kernels`).

Two fidelities share the same timing parameters:

* ``command`` issues every command of the stream against the compiled rules
  (:mod:`pimsim.pim.engine`; GDDR6-AiM adds CENT's instruction DMA,
  :mod:`pimsim.pim.aim_system`);
* ``tile`` computes the same kernel's duration in closed form
  (:mod:`pimsim.pim.tile`), thousands of times faster.

The placement layer calls :mod:`pimsim.pim.api`.
"""
