"""Timing edges: each constrained command pair issues exactly at its bound, and never before.

Directed cases build the smallest request streams that make one constraint the
binding one and check the gap in the command log against the JEDEC bound
computed here from the preset's numbers. Random traffic is then checked
against every rule of the family by an independent oracle (timing_oracle.py).
"""

import random

import pytest

from pimsim.dram.family import CMD, COMMANDS
from pimsim.dram.memory import MemorySystem
from pimsim.dram.microbench import _flat_bank, random_one_pc
from pimsim.dram.spec import load_dram

from timing_oracle import bound_ticks, run, violations

DEVICES = ["hbm2-2000", "hbm3-6400"]


@pytest.fixture(params=DEVICES)
def spec(request):
    return load_dram(request.param, sets=["controller.refresh=none"])


def bank(spec, bg=0, ba=0, pc=0, sid=0):
    return int(_flat_bank(spec, {"pseudo_channel": pc, "stack_id": sid, "bank_group": bg, "bank": ba}))


def at_edge(spec, tick, cmd):
    """HBM3 issues column commands, ACT and REF on rising edges (odd ticks) only."""
    if spec.family.clock_edges == "hbm3" and cmd in ("RD", "WR", "ACT", "REF") and tick % 2 == 0:
        return tick + 1
    return tick


def gap(spec, start, expr, pre, fol):
    """Expected distance from ``start`` to the following command, bound rounded to its edge."""
    return at_edge(spec, start + bound_ticks(spec, expr, pre, fol), fol) - start


def ticks_of(log, name):
    return [t for t, c, _ in log if COMMANDS[c] == name]


def test_act_to_read_is_trcd_rd(spec):
    _, log, _ = run(spec, [(1, "R", bank(spec), 0, 0)])
    act = ticks_of(log, "ACT")[0]
    assert ticks_of(log, "RD")[0] - act == gap(spec, act, "tRCD_RD", "ACT", "RD")


def test_act_to_write_is_trcd_wr(spec):
    _, log, _ = run(spec, [(1, "W", bank(spec), 0, 0)])
    act = ticks_of(log, "ACT")[0]
    assert ticks_of(log, "WR")[0] - act == gap(spec, act, "tRCD_WR", "ACT", "WR")


def test_row_conflict_waits_tras_then_trp_and_trc(spec):
    b = bank(spec)
    _, log, _ = run(spec, [(1, "R", b, 0, 0), (1, "R", b, 1, 0)])
    act, pre = ticks_of(log, "ACT"), ticks_of(log, "PRE")
    rd = ticks_of(log, "RD")[0]
    assert pre[0] - act[0] == max(bound_ticks(spec, "tRAS", "ACT", "PRE"), rd - act[0] + bound_ticks(spec, "tRTP", "RD", "PRE"))
    assert pre[0] - act[0] == bound_ticks(spec, "tRAS", "ACT", "PRE")      # tRAS is the binding one here
    assert act[1] == at_edge(spec, max(pre[0] + bound_ticks(spec, "tRP", "PRE", "ACT"),
                                       act[0] + bound_ticks(spec, "tRC", "ACT", "ACT")), "ACT")
    assert act[1] - pre[0] >= bound_ticks(spec, "tRP", "PRE", "ACT")


def test_read_to_precharge_is_trtp(spec):
    b = bank(spec)
    _, log, _ = run(spec, [(1, "R", b, 0, c) for c in range(8)] + [(1, "R", b, 1, 0)])
    assert ticks_of(log, "PRE")[0] - ticks_of(log, "RD")[7] == bound_ticks(spec, "tRTP", "RD", "PRE")


def test_write_to_precharge_is_write_recovery(spec):
    b = bank(spec)
    _, log, _ = run(spec, [(1, "W", b, 0, c) for c in range(8)] + [(1, "W", b, 1, 0)])
    assert ticks_of(log, "PRE")[0] - ticks_of(log, "WR")[7] == bound_ticks(spec, "CWL + BL + tWR", "WR", "PRE")


def test_reads_in_one_bank_group_are_tccd_l_apart(spec):
    b = bank(spec)
    _, log, _ = run(spec, [(1, "R", b, 0, c) for c in range(4)])
    rd = ticks_of(log, "RD")
    assert {y - x for x, y in zip(rd, rd[1:])} == {gap(spec, rd[0], "tCCD_L", "RD", "RD")}


def test_reads_alternating_bank_groups_are_tccd_s_apart(spec):
    b0, b1 = bank(spec, bg=0), bank(spec, bg=1)
    reqs = [(1, "R", b0, 0, 0), (1, "R", b1, 0, 0)]
    reqs += [(1, "R", b, 0, c) for c in range(1, 8) for b in (b0, b1)]
    _, log, _ = run(spec, reqs)
    rd = ticks_of(log, "RD")
    expected = max(bound_ticks(spec, "tCCD_S", "RD", "RD"), bound_ticks(spec, "BL", "RD", "RD"))
    assert min(y - x for x, y in zip(rd, rd[1:])) == expected


def test_activates_respect_trrd_s_and_trrd_l(spec):
    _, log, _ = run(spec, [(1, "R", bank(spec, bg=0), 0, 0), (1, "R", bank(spec, bg=1), 0, 0)])
    act = ticks_of(log, "ACT")
    assert act[1] - act[0] == gap(spec, act[0], "tRRD_S", "ACT", "ACT")
    _, log, _ = run(spec, [(1, "R", bank(spec, ba=0), 0, 0), (1, "R", bank(spec, ba=1), 0, 0)])
    act = ticks_of(log, "ACT")
    assert act[1] - act[0] == gap(spec, act[0], "tRRD_L", "ACT", "ACT")


def test_five_activates_respect_tfaw(spec):
    banks = [bank(spec, bg=i % 4, ba=i // 4) for i in range(5)]
    _, log, _ = run(spec, [(1, "R", b, 0, 0) for b in banks])
    act = ticks_of(log, "ACT")
    rrd = bound_ticks(spec, "tRRD_S", "ACT", "ACT")
    assert act[4] - act[0] == max(gap(spec, act[0], "tFAW", "ACT", "ACT"), 4 * rrd)


def test_write_to_read_turnaround_same_bank_group(spec):
    b = bank(spec)
    _, log, _ = run(spec, [(1, "W", b, 0, 0), (2, "R", b, 0, 1)])
    wr = ticks_of(log, "WR")[0]
    assert ticks_of(log, "RD")[0] - wr == gap(spec, wr, "CWL + BL + tWTR_L", "WR", "RD")


def test_read_to_write_turnaround(spec):
    b = bank(spec)
    rd_tick = 1 + bound_ticks(spec, "tRCD_RD", "ACT", "RD")
    if spec.family.clock_edges == "hbm3" and rd_tick % 2 == 0:
        rd_tick += 1
    _, log, _ = run(spec, [(1, "R", b, 0, 0), (rd_tick + 1, "W", b, 0, 1)])
    expr = "tRTW" if "tRTW" in spec.cycles else "CL + BL + 2 - CWL"
    assert ticks_of(log, "RD")[0] == rd_tick
    assert ticks_of(log, "WR")[0] - rd_tick == gap(spec, rd_tick, expr, "RD", "WR")


def test_hbm3_reads_alternating_stack_ids_are_tccd_r_apart():
    spec = load_dram("hbm3-6400", sets=["controller.refresh=none"])
    b0, b1 = bank(spec, sid=0), bank(spec, sid=1)
    reqs = [(1, "R", b0, 0, 0), (1, "R", b1, 0, 0)] + [(1, "R", b, 0, c) for c in range(1, 8) for b in (b0, b1)]
    _, log, _ = run(spec, reqs)
    rd = ticks_of(log, "RD")
    assert min(y - x for x, y in zip(rd, rd[1:])) == bound_ticks(spec, "tCCD_R", "RD", "RD")


def test_hbm3_column_commands_only_on_rising_edges():
    spec = load_dram("hbm3-6400", sets=["controller.refresh=none"])
    batch = random_one_pc(spec, n=600)
    mem = MemorySystem(spec, record=True)
    mem.replay(batch)
    log = mem.controllers[0].log
    for t, c, _ in log:
        if COMMANDS[c] in ("RD", "WR", "ACT", "REF"):
            assert t % 2 == 1, (t, COMMANDS[c])
    assert any(t % 2 == 0 for t, c, _ in log if COMMANDS[c] == "PRE")   # PRE uses falling edges too


@pytest.mark.parametrize("device", DEVICES)
def test_refresh_blocks_activates_for_trfc_and_closes_rows_first(device):
    spec = load_dram(device, sets=["controller.refresh=all-bank"])
    refi = spec.cycles["tREFI"] * spec.ticks_per_clock
    b = bank(spec)
    _, log, _ = run(spec, [(1, "R", b, 0, 0), (refi, "R", b, 1, 0)])
    ref = [(t, tgt) for t, c, tgt in log if COMMANDS[c] == "REF"]
    prea = ticks_of(log, "PREA")
    assert prea and ref[0][0] - prea[0] == gap(spec, prea[0], "tRP", "PREA", "REF")
    act_after = [t for t in ticks_of(log, "ACT") if t > ref[0][0]]
    assert act_after[0] - ref[0][0] == gap(spec, ref[0][0], "tRFC", "REF", "ACT")
    assert {tgt for _, tgt in ref} == {-1 - s for s in range(spec.organisation.pseudo_channels)}


def _random_requests(spec, n, seed, writes=0.3, banks=12, rows=6):
    rng = random.Random(seed)
    bank_ids = rng.sample(range(int(spec.banks_per_channel)), banks)
    reqs, cycle = [], 1
    for _ in range(n):
        cycle += rng.choice((0, 0, 0, 1, 3))
        reqs.append((cycle, "W" if rng.random() < writes else "R", rng.choice(bank_ids), rng.randrange(rows),
                     rng.randrange(spec.organisation.accesses_per_row)))
    return reqs


@pytest.mark.parametrize("device", DEVICES + ["ddr4-3200", "lpddr5-6400", "gddr6-aim"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_traffic_never_violates_a_rule(device, seed):
    spec = load_dram(device, sets=["controller.refresh=all-bank", "timing_cycles.tREFI=1500"])
    result, log, _ = run(spec, _random_requests(spec, 1500, seed))
    assert result.reads + result.writes == 1500
    assert violations(spec, log) == []


@pytest.mark.parametrize("device", DEVICES)
def test_oracle_catches_a_violation(device):
    """The checker itself must fail on a log that breaks a rule (tRCD)."""
    spec = load_dram(device, sets=["controller.refresh=none"])
    _, log, _ = run(spec, [(1, "R", bank(spec), 0, 0)])
    act_tick = ticks_of(log, "ACT")[0]
    bad = [(act_tick, CMD["ACT"], bank(spec)), (act_tick + 1, CMD["RD"], bank(spec))]
    assert violations(spec, bad)


def test_oracle_flags_a_controller_with_a_shorter_timing():
    """Simulate with tRCD_RD/tRCD_WR 4 cycles shorter, check against the real table: violations."""
    real = load_dram("hbm2-2000", sets=["controller.refresh=none"])
    fast = load_dram("hbm2-2000", sets=["controller.refresh=none", "timing_cycles.tRCD_RD=10",
                                        "timing_cycles.tRCD_WR=8"])
    _, log, _ = run(fast, _random_requests(fast, 300, 9))
    assert violations(fast, log) == []
    assert any("ACT" in v and "RD" in v for v in violations(real, log))
