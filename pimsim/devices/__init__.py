"""Device models: processors, memories, links and switches, each built from a ``devices/*.yaml`` preset.

* :mod:`~pimsim.devices.base` — preset fields every kind shares, the :class:`Device` extension point;
* :mod:`~pimsim.devices.loading` — ``load_device(name)`` for any kind below;
* processors: ``gpu`` (:mod:`.gpu`), ``host`` (:mod:`.host`), ``npu`` (:mod:`.npu`),
  ``upmem`` (:mod:`.upmem`, with :mod:`.upmem_dpu`, :mod:`.upmem_kernels`, :mod:`.upmem_host`),
  ``pnm`` near-memory units (:mod:`.pnm`);
* memories: ``pim-module`` (:mod:`.pim_module`, PIM timing plugged in later), ``cxl-memory`` (:mod:`.cxl_memory`);
* interconnect: ``link`` and ``cxl-link`` (:mod:`.link`), ``switch`` (:mod:`.switch`).
"""

from pimsim.devices.base import Device, PresetConfig
from pimsim.devices.loading import load_device, preset_kinds

__all__ = ["Device", "PresetConfig", "load_device", "preset_kinds"]
