"""Placements: which device runs each operator of a trace, and where its tensors live.

One module per published design; each registers itself by name:
``gpu`` (GPU-only, tensor parallel), ``attacc`` (AttAcc), ``npu``, ``npu+pim``
and ``neupim`` (NeuPIMs), ``cent`` (CENT), ``upmem`` and ``cxl-tiered``.
"""

from pimsim.placement import attacc, cent, cxl_tiered, gpu, upmem  # noqa: F401
from pimsim.placement import neupims, npu  # noqa: F401
from pimsim.placement.base import (  # noqa: F401
                                   Assignment,
                                   PassPlan,
                                   Placement,
                                   TensorPlacement,
                                   get_placement,
                                   kv_bytes,
                                   weight_bytes,
)
