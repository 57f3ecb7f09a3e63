"""Results of a DRAM run: one flat record with every metric named and in stated units."""

from __future__ import annotations

import dataclasses
from array import array

import numpy as np

from pimsim.dram.family import CMD, COMMANDS


class ChannelStats:
    """Counters of one channel; combined by :func:`pimsim.dram.stats.summarise`."""

    def __init__(self, nbanks: int):
        self.commands = [0] * len(CMD)
        self.row_hits = self.row_misses = self.row_conflicts = 0
        self.reads = self.writes = 0
        self.forwarded = self.coalesced = 0
        self.read_latency = array("q")
        self.last_done = 0
        self.bank_busy = [0] * nbanks
        self.refresh_requested = 0


@dataclasses.dataclass(frozen=True)
class DramResult:
    """What a command-level DRAM run measured.

    Times are in controller ticks and picoseconds; ``cycles`` counts command
    clocks (tCK) from the start until the last request completed (a read when its
    last data beat is on the bus: RD + CL + BL; a write at WR + CWL + BL).
    """

    device: str
    requests: int
    reads: int
    writes: int
    cycles: float
    time_ps: int
    bytes: int
    bandwidth_GBps: float
    peak_bandwidth_GBps: float
    row_hits: int
    row_misses: int
    row_conflicts: int
    commands: dict
    refreshes: int
    refresh_requests: int
    read_latency_mean_ns: float
    read_latency_p50_ns: float
    read_latency_p99_ns: float
    forwarded_reads: int
    coalesced_writes: int
    bank_busy_mean: float
    bank_busy_max: float
    channels_used: int
    bank_busy_ps: tuple = dataclasses.field(repr=False, default=())

    def to_dict(self, with_banks: bool = False) -> dict:
        out = dataclasses.asdict(self)
        if not with_banks:
            out.pop("bank_busy_ps")
        return out

    @property
    def utilisation(self) -> float:
        return self.bandwidth_GBps / self.peak_bandwidth_GBps if self.peak_bandwidth_GBps else 0.0


def _bank_busy(ctrl, end_tick: int) -> list:
    """Ticks each bank of a channel spent with a row open (plus tRP after closing it), within the run.

    A precharge near the end can finish its tRP after the last data beat; that tail is not part
    of the run, so a bank is never busier than the run itself.
    """
    busy = list(ctrl.stats.bank_busy)
    for bank, row in enumerate(ctrl.open_row):
        if row >= 0:
            busy[bank] += end_tick - ctrl.opened_at[bank]
    return [min(b, end_tick) for b in busy]


def summarise(spec, tables, controllers, requests: int) -> DramResult:
    """Combine the per-channel counters into one :class:`DramResult`."""
    stats = [c.stats for c in controllers]
    end_tick = max((s.last_done for s in stats), default=0)
    tick_ps = spec.tick_ps
    time_ps = int(end_tick * tick_ps)
    reads = sum(s.reads for s in stats)
    writes = sum(s.writes for s in stats)
    nbytes = (reads + writes) * spec.organisation.access_bytes
    lat = np.concatenate([np.frombuffer(s.read_latency, dtype=np.int64) for s in stats]) if stats else np.array([])
    lat_ns = lat * float(tick_ps) / 1000.0
    commands = {name: sum(s.commands[i] for s in stats) for i, name in enumerate(COMMANDS)}
    used = [c for c in controllers if c.stats.reads + c.stats.writes]
    busy = np.array([_bank_busy(c, end_tick) for c in controllers], dtype=float).ravel()          # ticks
    used_busy = np.array([_bank_busy(c, end_tick) for c in used], dtype=float).ravel()
    cycles = end_tick / tables.tpc
    return DramResult(
        device=spec.name, requests=requests, reads=reads, writes=writes,
        cycles=int(cycles) if float(cycles).is_integer() else float(cycles), time_ps=time_ps, bytes=nbytes,
        bandwidth_GBps=nbytes / (time_ps / 1000.0) if time_ps else 0.0,
        peak_bandwidth_GBps=spec.peak_bw_Bps / 1e9,
        row_hits=sum(s.row_hits for s in stats), row_misses=sum(s.row_misses for s in stats),
        row_conflicts=sum(s.row_conflicts for s in stats), commands=commands,
        refreshes=commands["REF"], refresh_requests=sum(s.refresh_requested for s in stats),
        read_latency_mean_ns=float(lat_ns.mean()) if lat.size else 0.0,
        read_latency_p50_ns=float(np.percentile(lat_ns, 50)) if lat.size else 0.0,
        read_latency_p99_ns=float(np.percentile(lat_ns, 99)) if lat.size else 0.0,
        forwarded_reads=sum(s.forwarded for s in stats), coalesced_writes=sum(s.coalesced for s in stats),
        bank_busy_mean=float(used_busy.mean() / end_tick) if used_busy.size and end_tick else 0.0,
        bank_busy_max=float(busy.max() / end_tick) if busy.size and end_tick else 0.0,
        channels_used=len(used), bank_busy_ps=tuple((busy * float(tick_ps)).tolist()),
    )
