"""The topology of a system as a networkx graph, and the routes through it.

Nodes are device instances (``host``, ``pim0`` ... ``pim31``) and switches,
each with its config (``config``), group name (``group``) and preset kind
(``kind``). Edges are links, each with its config (``link``) and an id. A
route between two nodes is a shortest path, where a link's length is the time
it takes to move ``route_probe`` bytes over it on an idle network (latency plus
serialization, half of each end's switch or host-bridge latency added): so a
GPU reaches another over NVLink, not through the host's PCIe, though both are
two hops. Ties are broken the same way every run. A route is a list of hops
``(from, to, edge id)``.

Building the graph checks what a system file cannot express wrongly: every
node reachable from every other, switches with no more links than ports.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from pimsim.core.errors import ConfigError, SimulationError
from pimsim.system.spec import SystemSpec


def _link_pairs(spec: SystemSpec, a: str, b: str) -> list[tuple[str, str]]:
    ga, gb = spec.devices[a], spec.devices[b]
    ia, ib = ga.instances, gb.instances
    if len(ia) == 1:
        return [(ia[0], y) for y in ib]
    if len(ib) == 1:
        return [(x, ib[0]) for x in ia]
    return list(zip(ia, ib))


def build_graph(spec: SystemSpec) -> nx.Graph:
    """Nodes and links of ``spec``; raises ConfigError for unreachable nodes or overfull switches."""
    graph = nx.Graph(name=spec.name)
    for group in spec.devices.values():
        for node in group.instances:
            graph.add_node(node, group=group.group, config=group.config, kind=group.config.kind)
    edge_id = 0
    for i, link in enumerate(spec.links):
        for u, v in _link_pairs(spec, *link.between):
            if graph.has_edge(u, v):
                raise ConfigError(f"{u} and {v} are linked twice", f"{spec.file}: links[{i}]")
            graph.add_edge(u, v, link=link.config, id=edge_id, entry=i)
            edge_id += 1
    for u, v, data in graph.edges(data=True):
        ends = sum(node_latency_ps(graph, n) for n in (u, v)) / 2
        data["length"] = data["link"].transfer_ps(spec.route_probe) + ends
    _check_ports(graph, spec)
    _check_connected(graph, spec)
    return graph


def node_latency_ps(graph: nx.Graph, node: str) -> int:
    data = graph.nodes[node]
    if data["kind"] == "switch":
        return data["config"].latency
    return getattr(data["config"], "bridge_latency", 0) if data["kind"] == "host" else 0


def _check_ports(graph: nx.Graph, spec: SystemSpec) -> None:
    for node, data in graph.nodes(data=True):
        if data["kind"] == "switch" and graph.degree(node) > data["config"].ports:
            raise ConfigError(f"switch {node} has {graph.degree(node)} links but {data['config'].ports} ports",
                              f"{spec.file}: devices.{data['group']}")


def _check_connected(graph: nx.Graph, spec: SystemSpec) -> None:
    if graph.number_of_nodes() <= 1 or nx.is_connected(graph):
        return
    parts = sorted(nx.connected_components(graph), key=lambda c: (-len(c), sorted(c)))
    main = parts[0]
    stranded = sorted(n for part in parts[1:] for n in part)
    anchor = min(main)
    shown = ", ".join(stranded[:8]) + (" ..." if len(stranded) > 8 else "")
    raise ConfigError(f"unreachable device(s): {shown} - no link path connects them to {anchor}; add a link in "
                      f"links:", f"{spec.file}: links")


class Router:
    """Shortest routes between nodes of a graph, computed once each."""

    def __init__(self, graph: nx.Graph):
        self.graph = graph
        self._route = lru_cache(maxsize=None)(self._compute)

    def _compute(self, src: str, dst: str) -> tuple[tuple[str, str, int], ...]:
        for node in (src, dst):
            if node not in self.graph:
                raise SimulationError(f"no node '{node}' in system {self.graph.graph.get('name', '')}; nodes: "
                                      f"{', '.join(sorted(self.graph.nodes)[:12])}")
        try:
            path = nx.shortest_path(self.graph, src, dst, weight="length")
        except nx.NetworkXNoPath:
            raise SimulationError(f"no route from {src} to {dst}") from None
        return tuple((u, v, self.graph.edges[u, v]["id"]) for u, v in zip(path, path[1:]))

    def route(self, src: str, dst: str) -> tuple[tuple[str, str, int], ...]:
        """Hops ``(from, to, edge id)`` of the route from ``src`` to ``dst`` (empty if the same node)."""
        return self._route(src, dst)

    def nodes_on(self, src: str, dst: str) -> list[str]:
        hops = self.route(src, dst)
        return [src] + [v for _, v, _ in hops]
