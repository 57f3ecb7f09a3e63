"""Run an assigned trace in a system's SimPy world: operators, transfers, collectives.

Every operator is a SimPy process. It waits for the operators it depends on
and for their outputs to arrive when they were produced on another device (a
producer pushes its output once to every device that consumes it, as soon as
it is done), then holds its own device for the device model's cost (devices run one
operator at a time, in the order operators ask for them). A collective
(``allreduce``) runs as a ring over its device group. What happened is kept as
a timeline (device, operator, start, end) from which utilisation, bytes moved
and Chrome traces are derived.
"""

from __future__ import annotations

import dataclasses

import simpy

from pimsim.core.errors import SimulationError


@dataclasses.dataclass
class TimelineEvent:
    """One operator (or transfer) on one device, in picoseconds."""

    device: str
    name: str
    kind: str
    start_ps: int
    end_ps: int
    stream: int = 0
    layer: int = -1


@dataclasses.dataclass
class StepRun:
    """What one simulated trace did."""

    time_ps: int
    events: list[TimelineEvent]
    busy_ps: dict[str, int]
    flops: dict[str, int]
    bytes_moved: dict[str, int]
    link_bytes: int
    transfer_J: float = 0.0
    bytes_by_link: dict[str, int] = dataclasses.field(default_factory=dict)   # "u->v" -> bytes

    def utilisation(self, device: str) -> float:
        return self.busy_ps.get(device, 0) / self.time_ps if self.time_ps else 0.0


def _output_bytes(record) -> int:
    return int(record.bytes_written)


def _path_energy_per_bit(system, src: str, dst: str, by_link: dict | None = None, nbytes: int = 0) -> float:
    """Energy per bit of sending from ``src`` to ``dst``: the sum over the links of the route.

    With ``by_link``, ``nbytes`` are also counted on every link of the route.
    """
    network = system.network
    total = 0.0
    for u, v, _ in network.router.route(src, dst):
        link = network.link(u, v)
        total += getattr(link, "config", link).energy.transfer
        if by_link is not None:
            key = f"{u}->{v}"
            by_link[key] = by_link.get(key, 0) + nbytes
    return total


def _allreduce_bits_J(system, members: list[str], rec, by_link: dict) -> tuple[int, float]:
    """Bytes a ring all-reduce puts on links (counted per link into ``by_link``), and their energy."""
    n = len(members)
    if n < 2:
        return 0, 0.0
    volume = int(rec.m) * int(rec.n) * max(1, int(rec.activation_bits) // 8)
    piece = -(-volume // n)
    moved = energy = 0
    for i in range(n):
        sent = 2 * (n - 1) * piece
        per_bit = _path_energy_per_bit(system, members[i], members[(i + 1) % n], by_link, sent)
        moved += sent
        energy += sent * 8 * per_bit
    return moved, energy


def simulate(system, trace, assignment, start_ps: int = 0) -> StepRun:
    """Run ``trace`` placed by ``assignment`` on ``system``; return its timeline and totals."""
    env = system.env
    n = len(trace)
    if len(assignment.devices) != n:
        raise SimulationError(f"assignment has {len(assignment.devices)} devices for {n} operators")
    records = [trace.record(i) for i in range(n)]
    done = [env.event() for _ in range(n)]
    events: list[TimelineEvent] = []
    moved = {"link": 0, "J": 0.0}
    by_link: dict[str, int] = {}
    streams = assignment.streams or (0,) * n

    devices = assignment.devices
    fused = {row: (duration, energy) for row, duration, energy in assignment.fused}
    order = assignment.priorities or range(n)
    parts = assignment.parts or (-1,) * n
    ptr, ids = trace.dep_ptr.tolist(), trace.dep_ids.tolist()
    dep_lists = [tuple(ids[ptr[i]:ptr[i + 1]]) for i in range(n)]
    arrivals: dict[tuple[int, str], simpy.Event] = {}     # (producer, device) -> its output is there
    for i in range(n):
        for d in dep_lists[i]:
            src, dst = devices[d], devices[i]
            if src != dst and src in system.devices and dst in system.devices and _output_bytes(records[d]):
                arrivals.setdefault((d, dst), env.event())
    pushes: dict[int, list[str]] = {}
    for d, dst in arrivals:
        pushes.setdefault(d, []).append(dst)

    lanes: dict[tuple[str, str], simpy.Resource] = {}

    def push(d: int, dst: str):
        """The producer's output goes to a consuming device once, as soon as it exists.

        Transfers between one pair of devices go in order (one DMA stream per pair), so
        that data needed first is not slowed by everything queued behind it.
        """
        src, nbytes = devices[d], _output_bytes(records[d])
        lane = lanes.setdefault((src, dst), simpy.Resource(env, capacity=1))
        with lane.request() as turn:
            yield turn
            t0 = env.now
            yield system.transfer(src, dst, nbytes)
        moved["link"] += nbytes
        moved["J"] += nbytes * 8 * _path_energy_per_bit(system, src, dst, by_link, nbytes)
        events.append(TimelineEvent(f"{src}->{dst}", records[d].name, "transfer", t0, env.now, streams[d],
                                    records[d].layer))
        arrivals[(d, dst)].succeed()

    def run_op(i: int):
        rec, where = records[i], devices[i]
        deps = dep_lists[i]
        if deps:
            waits = [done[d] for d in deps] + [arrivals[(d, where)] for d in deps if (d, where) in arrivals]
            yield waits[0] if len(waits) == 1 else simpy.AllOf(env, waits)
        t0 = env.now
        if rec.kind == "allreduce":
            yield system.allreduce(where, rec)
            members = system.group(where) if where not in system.devices else [where]
            nbytes, joules = _allreduce_bits_J(system, members, rec, by_link)
            moved["link"] += nbytes
            moved["J"] += joules
        else:
            if where not in system.devices:
                raise SimulationError(f"operator {rec.id} ({rec.name}) is assigned to '{where}', which is "
                                      f"not a device of system {system.name}")
            dev = system.devices[where]
            if i in fused:
                duration, energy = fused[i]
            else:
                dev.check_supported(rec)
                duration = dev.cost_ps(rec)
                energy = None
            part = parts[i] if parts[i] >= 0 else None
            # what Device.execute/hold do, inline: one process per operator is enough
            with dev.unit_for(rec, part).request(priority=order[i]) as turn:   # program order per device
                yield turn
                t0 = env.now                         # service time only, not the wait for the device
                yield env.timeout(duration)
            dev.stats.record(rec, duration, dev.pool_of(rec))
            dev.stats.add_energy(dev.energy_J(rec, duration) if energy is None else energy)
        events.append(TimelineEvent(where, rec.name, rec.kind, t0, env.now, streams[i], rec.layer))
        for dst in pushes.get(i, ()):
            env.process(push(i, dst))
        done[i].succeed()

    for i in range(n):
        env.process(run_op(i))
    finish = simpy.AllOf(env, done)
    env.run(until=finish)
    return _summarise(system, events, moved["link"], env.now - start_ps, moved["J"], by_link)


def _summarise(system, events, link_bytes: int, time_ps: int, transfer_J: float = 0.0,
               by_link: dict | None = None) -> StepRun:
    busy = {name: dev.busy_share_ps() for name, dev in system.devices.items()}
    flops = {name: dev.stats.flops for name, dev in system.devices.items()}
    moved = {name: dev.stats.bytes_moved for name, dev in system.devices.items()}
    return StepRun(time_ps, events, busy, flops, moved, link_bytes, transfer_J, dict(by_link or {}))
