"""Build the SimPy world of a system: its devices, its topology and its network.

``build_system("cent")`` loads ``systems/cent.yaml``, validates every preset,
builds the networkx topology (:mod:`pimsim.system.topology`), makes one
:class:`~pimsim.devices.base.Device` per device instance (switches stay graph
nodes) and one :class:`~pimsim.system.network.Network` over the links, all on
one SimPy environment whose time is integer picoseconds.
"""

from __future__ import annotations

import math

import simpy

from pimsim.core.errors import ConfigError, did_you_mean
from pimsim.devices.base import Device
from pimsim.devices.loading import preset_kinds
from pimsim.system.network import Network
from pimsim.system.spec import SystemSpec, load_system_spec
from pimsim.system.topology import build_graph

#: Preset kinds that are nodes of the graph but not devices that run operators.
PASSIVE_KINDS = ("switch",)


class System:
    """Devices, topology and network of one system on one SimPy environment."""

    def __init__(self, spec: SystemSpec, env: simpy.Environment | None = None):
        preset_kinds()  # import every device module so their models register
        self.spec = spec
        self.env = env or simpy.Environment()
        self.graph = build_graph(spec)
        self.network = Network(self.env, self.graph)
        self.devices: dict[str, Device] = {}
        for node, data in self.graph.nodes(data=True):
            if data["kind"] in PASSIVE_KINDS:
                continue
            model = Device.registry.get(data["kind"], f"{spec.file}: devices.{data['group']}")
            self.devices[node] = model(node, data["config"], self.env)

    @property
    def name(self) -> str:
        return self.spec.name

    def group(self, name: str) -> list[str]:
        """Instance names of device group ``name`` (``pim`` -> ``pim0`` ... ``pim31``)."""
        try:
            return self.spec.devices[name].instances
        except KeyError:
            raise ConfigError(f"no device group '{name}' in system {self.name}"
                              f"{did_you_mean(name, self.spec.devices)}") from None

    def device(self, name: str) -> Device:
        try:
            return self.devices[name]
        except KeyError:
            raise ConfigError(f"no device '{name}' in system {self.name}{did_you_mean(name, self.devices)}") from None

    def place(self, name: str, nbytes: int, what: str = "data") -> None:
        """Put ``nbytes`` on device ``name``, or on every member of group ``name`` split evenly."""
        members = [name] if name in self.devices else self.group(name)
        share = math.ceil(nbytes / len(members))
        for member in members:
            self.device(member).allocate(share, what)

    def transfer(self, src: str, dst: str, nbytes: int) -> simpy.Process:
        return self.network.transfer(src, dst, nbytes)

    def execute(self, name: str, op, priority: int = 0) -> simpy.Process:
        """Run operator ``op`` on device ``name`` (a SimPy process); lower ``priority`` goes first."""
        return self.device(name).execute(op, priority)

    def allreduce(self, nodes, op) -> simpy.Process:
        """Run an ``allreduce`` operator over ``nodes`` (a group name or instance names) as a ring on the links.

        The reduced tensor is ``m x n`` activations of one shard; the record's
        bytes (2 (tp - 1) / tp of it) are what each shard moves, which the ring reproduces.
        """
        if op.kind != "allreduce":
            raise ConfigError(f"operator {op.id} ({op.name}) is a '{op.kind}', not an allreduce")
        members = self.group(nodes) if isinstance(nodes, str) else list(nodes)
        volume = int(op.m) * int(op.n) * max(1, int(op.activation_bits) // 8)
        overhead = getattr(self.device(members[0]).config, "collective_overhead", 0) if members else 0
        return self.network.allreduce(members, volume, overhead)

    def run(self, until=None):
        return self.env.run(until=until)

    def summary(self) -> dict:
        """Plain description: nodes by group, links with their bandwidths."""
        links = []
        for u, v, data in self.graph.edges(data=True):
            link = data["link"]
            links.append({"between": [u, v], "preset": link.name, "GBps": link.bandwidth_Bps / 1e9,
                          "latency_ns": link.latency_ps / 1e3})
        return {"name": self.name, "groups": {g: {"preset": n.config.name, "kind": n.config.kind, "count": n.count}
                                              for g, n in self.spec.devices.items()},
                "links": links}


def build_system(name_or_spec, env: simpy.Environment | None = None, sets=()) -> System:
    """A :class:`System` from a system preset name, a YAML path or a :class:`SystemSpec`."""
    spec = name_or_spec if isinstance(name_or_spec, SystemSpec) else load_system_spec(name_or_spec, sets)
    return System(spec, env)
