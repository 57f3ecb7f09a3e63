"""Transfers over the links of a system, with contention simulated as links are shared.

Each direction of each link is a *channel* shared by every transfer crossing
it. A transfer is a flow over the channels of its route; while flows are
active, the :class:`FlowScheduler` (driven by SimPy events: a flow starting, a
flow finishing) divides every channel max-min fairly among the flows crossing
it (progressive filling), so two transfers on one link each get half of it and
a flow limited elsewhere leaves its unused share to the others. A flow's use
of a channel is counted in link time: N bytes on a CXL link cost whole flits
(:mod:`pimsim.devices.link`). After its last byte is sent a transfer waits the
route's latency: the links' latencies plus the crossing latency of every
switch (and host bridge) on the way. On an idle route a transfer takes exactly

    sum of hop latencies + max over hops of serialization(N)

Collectives are built from flows: :meth:`Network.multicast` (one flow over
the tree of routes, replicated by multicast switches at their bandwidth
factor), :meth:`Network.gather` (concurrent transfers into one node) and
:meth:`Network.allreduce` (ring all-reduce: 2(n - 1) steps of N / n bytes).

(A first version held SimPy ``Resource`` channels chunk by chunk; a flow then
held a fast link for as long as its slowest link needed, which made eight
devices gathering into a 4x wider host link four times too slow.)
"""

from __future__ import annotations

import dataclasses
import math

import simpy

from pimsim.core.errors import SimulationError
from pimsim.core.sim import Wakeup
from pimsim.system.topology import Router, node_latency_ps

EPS_BYTES = 1e-6


@dataclasses.dataclass
class ChannelStats:
    """Bytes carried and time busy, per channel."""

    bytes: int = 0
    busy_ps: float = 0.0


@dataclasses.dataclass(eq=False)
class Flow:
    """One transfer in progress: bytes left, its rate cap on each channel (B/s), its current rate."""

    done: simpy.Event
    remaining: float
    caps: dict
    rate: float = 0.0


class FlowScheduler:
    """Max-min fair sharing of channels among active flows, re-solved whenever a flow starts or ends."""

    def __init__(self, env: simpy.Environment, stats: dict):
        self.env = env
        self.stats = stats
        self.flows: list[Flow] = []
        self.last = 0
        self.generation = 0

    def start(self, caps: dict, nbytes: int) -> simpy.Event:
        """A flow of ``nbytes`` whose rate on channel c may not exceed ``caps[c]``; fires when sent."""
        done = self.env.event()
        if nbytes <= 0 or not caps:
            done.succeed()
            return done
        self._advance()
        for key in caps:
            self.stats.setdefault(key, ChannelStats()).bytes += nbytes
        self.flows.append(Flow(done, float(nbytes), caps))
        self._allocate()
        self._schedule()
        return done

    def _advance(self) -> None:
        elapsed = (self.env.now - self.last) / 1e12
        if elapsed > 0:
            for f in self.flows:
                f.remaining -= f.rate * elapsed
                for key, cap in f.caps.items():
                    self.stats[key].busy_ps += f.rate / cap * elapsed * 1e12
        self.last = self.env.now

    def _allocate(self) -> None:
        """Progressive filling: raise all unfrozen rates together until a channel fills; freeze its flows."""
        users: dict = {}
        for f in self.flows:
            for key in f.caps:
                users[key] = users.get(key, 0) + 1
        if all(n == 1 for n in users.values()):        # no channel shared: every flow at its own cap
            for f in self.flows:
                f.rate = min(f.caps.values())
            return
        used: dict = {}
        open_flows = list(self.flows)
        while open_flows:
            load: dict = {}
            for f in open_flows:
                for key, cap in f.caps.items():
                    load[key] = load.get(key, 0.0) + 1.0 / cap
            level, tight = min(((1.0 - used.get(k, 0.0)) / w, k) for k, w in load.items())
            level = max(level, 0.0)
            for f in [f for f in open_flows if tight in f.caps]:
                f.rate = level
                for key, cap in f.caps.items():
                    used[key] = used.get(key, 0.0) + level / cap
                open_flows.remove(f)

    def _schedule(self) -> None:
        self.generation += 1
        if not self.flows:
            return
        moving = [f.remaining / f.rate * 1e12 for f in self.flows if f.rate > 0]
        if not moving:
            raise SimulationError(f"{len(self.flows)} transfer(s) can make no progress (a channel with no capacity)")
        delay = min(moving)
        generation = self.generation
        Wakeup(self.env, max(0, math.ceil(delay - 1e-3)), lambda _ev: self._wake(generation))

    def _wake(self, generation: int) -> None:
        if generation != self.generation:
            return
        self._advance()
        finished = [f for f in self.flows if f.remaining <= EPS_BYTES + f.rate * 1e-12]
        for f in finished:
            self.flows.remove(f)
            f.done.succeed()
        self._allocate()
        self._schedule()


class Network:
    """The links of one system inside a SimPy environment."""

    def __init__(self, env: simpy.Environment, graph):
        self.env = env
        self.graph = graph
        self.router = Router(graph)
        self.stats: dict[tuple[str, str], ChannelStats] = {}
        self.scheduler = FlowScheduler(env, self.stats)

    # -- pure parts -----------------------------------------------------------
    def link(self, u: str, v: str):
        return self.graph.edges[u, v]["link"]

    def node_latency_ps(self, node: str) -> int:
        """Crossing latency of a switch or host bridge; 0 for other devices."""
        return node_latency_ps(self.graph, node)

    def path_latency_ps(self, src: str, dst: str) -> int:
        """Latency of the route: every link plus every switch or host bridge on it."""
        hops = self.router.route(src, dst)
        nodes = self.router.nodes_on(src, dst)
        return sum(self.link(u, v).latency_ps for u, v, _ in hops) + sum(self.node_latency_ps(n) for n in nodes)

    def serialization_ps(self, hops, nbytes: int, factor: float = 1.0) -> int:
        """Time the slowest hop needs for ``nbytes`` (at ``factor`` of its bandwidth)."""
        if nbytes <= 0 or not hops:
            return 0
        worst = max(self.link(u, v).serialization_ps(nbytes) for u, v, _ in hops)
        return worst if factor == 1.0 else math.ceil(worst / factor)

    def ideal_transfer_ps(self, src: str, dst: str, nbytes: int) -> int:
        """Time of one transfer on an idle network."""
        return self.path_latency_ps(src, dst) + self.serialization_ps(self.router.route(src, dst), nbytes)

    def bottleneck_Bps(self, src: str, dst: str) -> float:
        """Payload bandwidth of the narrowest link of the route."""
        return min(self.link(u, v).bandwidth_Bps for u, v, _ in self.router.route(src, dst))

    # -- simulation -------------------------------------------------------------
    def _caps(self, hops, nbytes: int, factor: float = 1.0) -> dict:
        """Rate cap of a flow of ``nbytes`` on each channel: bytes over that link's serialization time."""
        if nbytes <= 0:
            return {}
        return {(u, v): nbytes / (self.link(u, v).serialization_ps(nbytes) / 1e12) * factor for u, v, _ in hops}

    def _flow(self, hops, nbytes: int, latency_ps: int, factor: float = 1.0):
        yield self.scheduler.start(self._caps(hops, nbytes, factor), nbytes)
        yield self.env.timeout(latency_ps)
        return nbytes

    def transfer(self, src: str, dst: str, nbytes: int) -> simpy.Process:
        """Move ``nbytes`` from ``src`` to ``dst``: a process that ends when the last byte arrives."""
        if nbytes < 0:
            raise SimulationError(f"cannot transfer {nbytes} bytes from {src} to {dst}")
        hops = self.router.route(src, dst)
        return self.env.process(self._flow(hops, nbytes, self.path_latency_ps(src, dst) if hops else 0))

    def multicast(self, src: str, dsts, nbytes: int) -> simpy.Process:
        """Send the same ``nbytes`` from ``src`` to every node of ``dsts`` at once.

        Where the routes fork at a switch with multicast, one flow crosses each
        link of the tree once, at the switch's multicast bandwidth factor; if a
        fork has no multicast support, it falls back to separate transfers.
        """
        dsts = [d for d in dsts if d != src]
        hops = {h for d in dsts for h in self.router.route(src, d)}
        out_degree: dict[str, int] = {}
        for u, _, _ in hops:
            out_degree[u] = out_degree.get(u, 0) + 1
        forks = [n for n, deg in out_degree.items() if deg > 1]
        if any(not self._can_multicast(n) for n in forks):
            return self.gather_like([(src, d) for d in dsts], nbytes)
        factor = min((self.graph.nodes[n]["config"].multicast_bandwidth_factor for n in forks), default=1.0)
        latency = max((self.path_latency_ps(src, d) for d in dsts), default=0)
        return self.env.process(self._flow(sorted(hops, key=lambda h: h[2]), nbytes, latency, factor))

    def _can_multicast(self, node: str) -> bool:
        data = self.graph.nodes[node]
        return data["kind"] == "switch" and data["config"].multicast

    def gather_like(self, pairs, nbytes: int) -> simpy.Process:
        """Concurrent transfers of ``nbytes`` for every (src, dst) pair; ends when all have."""
        flows = [self.transfer(s, d, nbytes) for s, d in pairs]

        def wait():
            yield self.env.all_of(flows)
            return nbytes * len(flows)

        return self.env.process(wait())

    def gather(self, srcs, dst: str, nbytes_each: int) -> simpy.Process:
        """Every node of ``srcs`` sends ``nbytes_each`` to ``dst`` at once (they contend near ``dst``)."""
        return self.gather_like([(s, dst) for s in srcs if s != dst], nbytes_each)

    def allreduce(self, nodes, nbytes: int, step_overhead_ps: int = 0) -> simpy.Process:
        """Ring all-reduce of ``nbytes`` over ``nodes``: 2 (n - 1) steps, each moving N / n to the next node.

        ``step_overhead_ps`` is software time added to every step (a collective library's
        synchronisation), on top of the links' latency and serialisation.
        """
        nodes = list(nodes)
        n = len(nodes)
        piece = math.ceil(nbytes / n) if n else 0

        pairs = [(nodes[i], nodes[(i + 1) % n]) for i in range(n)]
        caps, users = {}, {}
        for src, dst in pairs:          # every pair's channels, held together: the ring moves in lock-step
            for key, cap in self._caps(self.router.route(src, dst), piece).items():
                caps[key] = min(cap, caps.get(key, cap))
                users[key] = users.get(key, 0) + 1
        caps = {key: cap / users[key] for key, cap in caps.items()}   # pairs sharing a channel split it
        latency = max((self.path_latency_ps(s, d) for s, d in pairs), default=0)

        def ring():
            for _ in range(2 * (n - 1)):
                if caps:
                    yield self.scheduler.start(caps, piece)
                yield self.env.timeout(latency + step_overhead_ps)
            return nbytes

        return self.env.process(ring())

    def ideal_allreduce_ps(self, nodes, nbytes: int) -> int:
        """Ring all-reduce time on an idle network whose steps do not share channels."""
        nodes = list(nodes)
        n = len(nodes)
        if n < 2:
            return 0
        piece = math.ceil(nbytes / n)
        step = max(self.ideal_transfer_ps(nodes[i], nodes[(i + 1) % n], piece) for i in range(n))
        return 2 * (n - 1) * step
