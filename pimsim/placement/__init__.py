"""Placements: which device runs each operator of a trace, and where its tensors live.

One module per published design; each registers itself by name:
``gpu`` (GPU-only, tensor parallel), ``attacc`` (AttAcc), ``npu``, ``npu+pim``
and ``neupim`` (NeuPIMs), ``cent`` (CENT), ``upmem`` and ``cxl-tiered``.
"""

from pimsim.placement.base import (Assignment, PassPlan, Placement, TensorPlacement, get_placement,  # noqa: F401
                                   kv_bytes, weight_bytes)
from pimsim.placement import gpu  # noqa: F401,E402
