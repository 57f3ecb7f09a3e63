"""Physics invariants of the DRAM model on random traces (hypothesis).

Whatever the trace: every request completes exactly once, achieved bandwidth
never exceeds the peak of the channels, no bank is busy longer than the run,
and the refresh manager asks for exactly floor(time / tREFI) refreshes per
refresh scope, of which at most one per scope is still pending at the end.
The memory system's own event loop and an external SimPy environment give the
same commands at the same ticks.
"""

from collections import Counter

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from pimsim.dram.mapping import map_addresses
from pimsim.dram.memory import MemorySystem
from pimsim.dram.spec import load_dram

SPECS = {name: load_dram(name, sets=["timing_cycles.tREFI=700"]) for name in ("hbm2-2000", "hbm3-6400")}

requests = st.lists(
    st.tuples(st.integers(0, 2**16 - 1), st.booleans(), st.integers(0, 3)),  # (block, write, gap)
    min_size=1, max_size=400)


def _run(spec, reqs, region_blocks, env=None):
    step = spec.organisation.access_bytes
    addresses = np.array([b % region_blocks for b, _, _ in reqs], dtype=np.int64) * step * 97 % spec.capacity_bytes
    addresses -= addresses % step
    writes = np.array([w for _, w, _ in reqs])
    at = np.cumsum([g for _, _, g in reqs]) + 1
    batch = map_addresses(spec, addresses, writes, at=at)
    mem = MemorySystem(spec, record=True, env=env)
    return mem.replay(batch), mem, batch


@settings(max_examples=25, deadline=None)
@given(reqs=requests, device=st.sampled_from(sorted(SPECS)), region=st.sampled_from([16, 512, 65536]))
def test_every_request_completes_exactly_once(reqs, device, region):
    spec = SPECS[device]
    result, mem, batch = _run(spec, reqs, region)
    assert result.reads + result.writes == len(reqs)
    assert result.reads == int((~batch.write).sum())
    done = Counter(k for c in mem.controllers for k, _ in c.done_log)
    o = spec.organisation
    keys = ((batch.bank * o.rows + batch.row) * o.accesses_per_row + batch.col
            + batch.channel * (o.rows * o.accesses_per_row * mem.tables.nbanks))
    assert done == Counter(keys.tolist())


@settings(max_examples=25, deadline=None)
@given(reqs=requests, device=st.sampled_from(sorted(SPECS)), region=st.sampled_from([16, 512, 65536]))
def test_bandwidth_bank_time_and_refresh_obey_physics(reqs, device, region):
    spec = SPECS[device]
    result, mem, _ = _run(spec, reqs, region)
    time_ps = result.time_ps
    assert result.bandwidth_GBps <= result.peak_bandwidth_GBps * (1 + 1e-9)
    per_channel_peak = spec.peak_bw_per_channel_Bps
    for ctrl in mem.controllers:
        moved = (ctrl.stats.reads + ctrl.stats.writes - ctrl.stats.forwarded - ctrl.stats.coalesced) \
            * spec.organisation.access_bytes
        assert moved <= per_channel_peak * time_ps / 1e12 + spec.organisation.access_bytes
    assert max(result.bank_busy_ps) <= time_ps + spec.cycles["tRP"] * spec.clock.tCK
    end_tick = max(c.stats.last_done for c in mem.controllers)
    refi = spec.cycles["tREFI"] * spec.ticks_per_clock
    scopes = mem.tables.nscopes
    for ctrl in mem.controllers:
        assert ctrl.stats.refresh_requested == scopes * (end_tick // refi)
        issued = ctrl.stats.commands[7]
        assert ctrl.stats.refresh_requested - scopes <= issued <= ctrl.stats.refresh_requested


def test_refresh_off_issues_none():
    spec = load_dram("hbm2-2000", sets=["controller.refresh=none"])
    batch = map_addresses(spec, np.arange(0, 2**20, 32), False)
    result = MemorySystem(spec).replay(batch)
    assert result.refreshes == 0 and result.refresh_requests == 0


@settings(max_examples=15, deadline=None)
@given(reqs=requests, device=st.sampled_from(sorted(SPECS)), region=st.sampled_from([16, 512, 65536]))
def test_own_loop_matches_simpy_environment(reqs, device, region):
    spec = SPECS[device]
    own, mem, _ = _run(spec, reqs, region)
    env = simpy.Environment()
    shared, mem_env, _ = _run(spec, reqs, region, env=env)
    assert own == shared
    for a, b in zip(mem.controllers, mem_env.controllers):
        assert a.log == b.log and a.done_log == b.done_log
    assert env.now == mem._now
