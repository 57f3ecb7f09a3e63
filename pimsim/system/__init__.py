"""Systems: devices composed into a topology (networkx) with links simulated as shared SimPy resources.

* :mod:`~pimsim.system.spec` — ``systems/*.yaml`` into a validated :class:`SystemSpec`;
* :mod:`~pimsim.system.topology` — the graph, its checks, shortest routes;
* :mod:`~pimsim.system.network` — transfers, multicast, gather, ring all-reduce with contention;
* :mod:`~pimsim.system.builder` — ``build_system(name)``: devices + network on one environment;
* :mod:`~pimsim.system.draw` — ``pimsim draw SYSTEM``.
"""

from pimsim.system.builder import System, build_system
from pimsim.system.spec import SystemSpec, load_system_spec

__all__ = ["System", "SystemSpec", "build_system", "load_system_spec"]
