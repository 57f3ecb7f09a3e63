"""DDR4-3200, LPDDR5-6400 and GDDR6-AiM: presets, invariants and micro-benchmark physics.

These three standards run on the controller's single-command-bus path. Every
expected number below is computed from the preset's own timing table: hand
formulas for sequential single-bank time, bounds for streaming and random
traffic, and floor(time / tREFI) refreshes. The command logs of mixed traffic are
checked against every family rule by the independent oracle (timing_oracle.py),
and the spacings that differ between the standards (turnarounds, write recovery,
tRRD_S/L, tRPab, rank switches) against formulas written out here, so that a
wrong rule in a family file fails a test.
"""

import math
import random

import numpy as np
import pytest

from pimsim.core.errors import ConfigError
from pimsim.dram import microbench as mb
from pimsim.dram.family import CMD
from pimsim.dram.memory import MemorySystem, RequestBatch
from pimsim.dram.spec import load_dram

from timing_oracle import run as run_logged
from timing_oracle import violations

FAMILY = {"ddr4-3200": "ddr4", "lpddr5-6400": "lpddr5", "gddr6-aim": "gddr6"}
STANDARD_DOC = {"ddr4-3200": "JESD79-4", "lpddr5-6400": "JESD209-5", "gddr6-aim": "JESD250"}
#: Gigabits per channel, from the parts' data sheets: DDR4 rank of eight 8 Gb x8 dies,
#: LPDDR5 16 Gb x16 channel, GDDR6-AiM 8 Gb die of two channels.
CHANNEL_GBIT = {"ddr4-3200": 8 * 8, "lpddr5-6400": 16, "gddr6-aim": 8 // 2}
#: CA-bus cycles of one activate: LPDDR5 sends ACT-1 then ACT-2, one CK each.
ACT_CK = {"ddr4-3200": 1, "lpddr5-6400": 2, "gddr6-aim": 1}
#: aim_simulator's resolved GDDR6_AiM_timing (commit 2eb1ee0, test/example.yaml) -> pimsim names.
AIM_TABLE = {"nBL": ("BL", 2), "nCL": ("CL", 50), "nRCDRD": ("tRCD_RD", 36), "nRCDWR": ("tRCD_WR", 28),
             "nRP": ("tRP", 32), "nRAS": ("tRAS", 54), "nRC": ("tRC", 89), "nWR": ("tWR", 33),
             "nRTP": ("tRTP", 12), "nCWL": ("CWL", 6), "nCCDS": ("tCCD_S", 2), "nCCDL": ("tCCD_L", 2),
             "nRRDS": ("tRRD_S", 11), "nRRDL": ("tRRD_L", 11), "nWTRS": ("tWTR_S", 9), "nWTRL": ("tWTR_L", 11),
             "nFAW": ("tFAW", 42), "nRFC": ("tRFC", 210), "nRCDRDMAC": ("tRCD_MAC", 56),
             "nRCDEWMUL": ("tRCD_EWMUL", 25), "nRCDRDAF": ("tRCD_AF", 86), "nRCDRDCP": ("tRCD_RDCP", 66),
             "nRCDWRCP": ("tRCD_WRCP", 48), "nCLREG": ("CL_REG", 0), "nCLGB": ("CL_GB", 1),
             "nCWLREG": ("CWL_REG", 1), "nCWLGB": ("CWL_GB", 1), "nWPRE": ("tWPRE", 1),
             "nMODCH": ("tMODCH", 32), "nRREFD": ("tRREFD", 21)}


@pytest.fixture(scope="module", params=list(FAMILY))
def spec(request):
    return load_dram(request.param)


def run(spec, batch, refresh="none"):
    return MemorySystem(spec, refresh=refresh).replay(batch)


def cmd_cycles(spec, cmd):
    return spec.family.command_cycles.get(cmd, 1)


def t_rp_all(spec):
    """Precharge time of an all-bank precharge (LPDDR5 tRPab; tRP elsewhere)."""
    return spec.cycles.get("tRPab", spec.cycles["tRP"])


def mixed_batch(spec, n, seed, rows=4, write_share=0.4):
    """Reads and writes to random banks of channel 0 over a few rows: hits, conflicts, turnarounds."""
    rng = random.Random(seed)
    nb, per_row = spec.banks_per_channel, spec.organisation.accesses_per_row
    return RequestBatch(np.zeros(n, dtype=np.int64), np.array([rng.randrange(nb) for _ in range(n)]),
                        np.array([rng.randrange(rows) for _ in range(n)]),
                        np.array([rng.randrange(per_row) for _ in range(n)]),
                        np.array([rng.random() < write_share for _ in range(n)]))


def refreshes_per_scope_ok(spec, result):
    """floor(time / tREFI) all-bank refreshes per refresh scope of every used channel, one pending either side.

    The scope is the rank (DDR4, LPDDR5) or the channel (GDDR6): ``ranks`` scopes per channel in all three.
    """
    scopes = spec.organisation.ranks
    due = math.floor(result.cycles / spec.cycles["tREFI"])
    per_scope = result.refreshes / (scopes * result.channels_used)
    return abs(per_scope - due) <= 1, (result.refreshes, due, result.cycles)


# -- presets and invariants ---------------------------------------------------------
def test_preset_uses_its_family_and_cites_the_standard(spec):
    assert spec.family.family == FAMILY[spec.name]
    assert spec.family.command_bus == "single"
    assert STANDARD_DOC[spec.name] in spec.source
    assert STANDARD_DOC[spec.name] in spec.family.source


def test_burst_bus_and_peak_follow_from_the_organisation(spec):
    o, c = spec.organisation, spec.cycles
    beats_per_tck = spec.data_rate * spec.clock.tCK / 1e12
    assert c["BL"] * beats_per_tck == pytest.approx(o.burst_length)
    assert o.access_bytes == o.bus_width * o.burst_length // 8
    assert spec.peak_bw_Bps == pytest.approx(o.channels * o.bus_width / 8 * spec.data_rate)
    assert spec.channel_bytes * 8 == CHANNEL_GBIT[spec.name] * 2**30


def test_timing_table_is_physically_possible(spec):
    c = spec.cycles
    assert c["tRC"] >= c["tRAS"] + c["tRP"]
    assert c["tRAS"] >= c["tRCD_RD"]
    assert c["tCCD_L"] >= c["tCCD_S"] >= c["BL"]          # column commands never overlap data bursts
    assert c["tFAW"] >= c["tRRD_S"] and c["tRRD_L"] >= c["tRRD_S"]
    assert c["tWTR_L"] >= c["tWTR_S"]
    assert c["tREFI"] > 10 * c["tRFC"]                      # refresh costs under 10% of the time
    assert c["CL"] > c["CWL"] > 0


@pytest.mark.parametrize("name", list(FAMILY))
def test_violated_invariants_are_rejected(name):
    c = load_dram(name).cycles
    with pytest.raises(ConfigError, match="tRC"):
        load_dram(name, sets=[f"timing_cycles.tRC={c['tRAS'] + c['tRP'] - 1}"])
    with pytest.raises(ConfigError, match="BL"):
        load_dram(name, sets=[f"timing_cycles.BL={c['BL'] + 1}"])


def test_gddr6_aim_carries_aim_simulators_table():
    spec = load_dram("gddr6-aim")
    for theirs, (ours, value) in AIM_TABLE.items():
        assert spec.cycles[ours] == value, (theirs, ours)
    assert spec.clock.tCK == 500
    assert spec.cycles["tREFI"] == 1_900_000 // spec.clock.tCK       # JEDEC 1.9 us, not aim's positional 105
    assert 4 * spec.cycles["tRRD_S"] >= spec.cycles["tFAW"]          # why dropping tFAW changes nothing there


# -- micro-benchmarks against hand formulas --------------------------------------------
def test_one_read_takes_activate_trcd_cl_bl(spec):
    """A lone read: ACT (LPDDR5: ACT-1 + ACT-2, tRCD from ACT-2), tRCD, CL, the burst; the frontend starts at 1."""
    c = spec.cycles
    one = RequestBatch(*(np.zeros(1, dtype=np.int64) for _ in range(4)), np.zeros(1, dtype=bool))
    result = run(spec, one)
    assert result.cycles == 1 + (ACT_CK[spec.name] - 1) + c["tRCD_RD"] + c["CL"] + c["BL"]


def test_sequential_one_bank_matches_hand_formula(spec):
    c, per_row = spec.cycles, spec.organisation.accesses_per_row
    rows = 16
    result = run(spec, mb.seq_one_bank(spec, rows * per_row))
    per_row_cycles = max(c["tRCD_RD"] + (per_row - 1) * c["tCCD_L"] + c["tRTP"], c["tRAS"]) + c["tRP"]
    assert result.cycles == pytest.approx(rows * max(per_row_cycles, c["tRC"]), rel=0.01)
    assert result.commands["ACT"] == rows and result.row_hits == rows * (per_row - 1)


def test_refresh_on_one_bank_costs_trfc_and_a_reopen(spec):
    c, per_row = spec.cycles, spec.organisation.accesses_per_row
    batch = mb.seq_one_bank(spec, 64 * per_row)
    plain, refreshed = run(spec, batch), run(spec, batch, refresh="all-bank")
    ok, detail = refreshes_per_scope_ok(spec, refreshed)
    assert ok, detail
    n = refreshed.refreshes
    assert n >= 2
    extra = refreshed.cycles - plain.cycles
    worst = c["tRTP"] + t_rp_all(spec) + c["tRFC"] + cmd_cycles(spec, "ACT") + c["tRCD_RD"]
    assert (n - 1) * c["tRFC"] <= extra <= n * worst


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
def test_rotating_banks_stream_near_peak(spec, write):
    c = spec.cycles
    batch = mb.seq_rotating_banks(spec, 8192, write=write)
    plain, refreshed = run(spec, batch), run(spec, batch, refresh="all-bank")
    peak = spec.peak_bw_per_channel_Bps / 1e9
    assert 0.9 * peak <= plain.bandwidth_GBps <= peak
    assert refreshed.bandwidth_GBps < plain.bandwidth_GBps
    ok, detail = refreshes_per_scope_ok(spec, refreshed)
    assert ok, detail
    # Each REF: close the rows (read or write recovery), tRPab, tRFC, then reopen every bank at the ACT rate.
    close = max(c["tRTP"], c["CWL"] + c["BL"] + c["tWR"])
    reopen = spec.banks_per_channel * max(c["tRRD_S"], c["tFAW"] / 4, cmd_cycles(spec, "ACT")) + c["tRCD_RD"]
    extra, n = refreshed.cycles - plain.cycles, refreshed.refreshes
    assert (n - 1) * c["tRFC"] <= extra <= n * (close + t_rp_all(spec) + c["tRFC"] + reopen)


def test_random_traffic_is_bound_by_trrd_tfaw_and_the_command_bus(spec):
    c = spec.cycles
    result = run(spec, mb.random_one_pc(spec, 2048))
    acts = result.commands["ACT"]
    assert acts >= 0.95 * 2048                                       # random rows: nearly every read opens one
    per_act = max(c["tRRD_S"], c["tFAW"] / 4)
    assert result.cycles >= (acts - 4) / 4 * c["tFAW"] and result.cycles >= (acts - 1) * c["tRRD_S"]
    bus = sum(n * cmd_cycles(spec, cmd) for cmd, n in result.commands.items())
    assert result.cycles >= bus                                      # one command per tCK, ACT 2 tCK on LPDDR5
    per_miss = cmd_cycles(spec, "PRE") + cmd_cycles(spec, "ACT") + cmd_cycles(spec, "RD")
    assert result.cycles <= 1.15 * acts * max(per_act, per_miss)
    refreshed = run(spec, mb.random_one_pc(spec, 2048), refresh="all-bank")
    ok, detail = refreshes_per_scope_ok(spec, refreshed)
    assert ok and refreshed.cycles > result.cycles, detail


def test_all_channel_stream_is_bounded_by_peak_and_first_access(spec):
    c, o = spec.cycles, spec.organisation
    nbytes = 64 * 1024 * o.channels if o.channels > 1 else 256 * 1024
    result = run(spec, mb.seq_all_channels(spec, nbytes))
    per_channel = nbytes // o.access_bytes // o.channels
    floor_cycles = c["tRCD_RD"] + c["CL"] + per_channel * c["BL"]   # first data, then a burst per BL
    assert result.channels_used == o.channels
    assert result.bandwidth_GBps <= result.peak_bandwidth_GBps
    assert result.cycles >= floor_cycles
    if c["tCCD_L"] == c["BL"]:                                       # GDDR6-AiM: no bank-group penalty
        assert result.cycles <= 1.02 * floor_cycles


# -- mixed traffic: completes, and every command obeys every rule ------------------------
@pytest.mark.parametrize("policy", ["open", "closed"])
@pytest.mark.parametrize("refresh", ["none", "all-bank"])
def test_mixed_reads_and_writes_complete_and_obey_every_rule(spec, policy, refresh):
    sets = [f"controller.row_policy={policy}", "timing_cycles.tREFI=1500"]
    s = load_dram(spec.name, sets=sets)
    batch = mixed_batch(s, 600, seed=7)
    mem = MemorySystem(s, refresh=refresh, record=True)
    result = mem.replay(batch)
    assert (result.reads, result.writes) == (int((~batch.write).sum()), int(batch.write.sum()))
    assert result.bandwidth_GBps <= result.peak_bandwidth_GBps
    bursts = result.reads + result.writes - result.forwarded_reads - result.coalesced_writes
    assert result.cycles >= bursts * s.cycles["BL"]
    assert violations(s, mem.controllers[0].log) == []


@pytest.mark.parametrize("name", ["ddr4-3200", "lpddr5-6400"])
def test_two_ranks_share_the_bus_with_rank_switch_gaps(name):
    """Rank-to-rank rules (sibling, tRTRS) hold and both ranks are refreshed."""
    spec = load_dram(name, sets=["organisation.ranks=2", "timing_cycles.tREFI=1500"])
    mem = MemorySystem(spec, refresh="all-bank", record=True)
    result = mem.replay(mixed_batch(spec, 600, seed=11))
    assert result.reads + result.writes == 600
    assert violations(spec, mem.controllers[0].log) == []
    ok, detail = refreshes_per_scope_ok(spec, result)
    assert ok, detail


# -- timing edges: each standard's own spacings, written out here from the JEDEC formulas ----
def jedec_edges(spec):
    """Command spacings in tCK, from each standard's definitions (not from the family files)."""
    c = spec.cycles
    turn = 4 if spec.name == "gddr6-aim" else 2              # GDDR6-AiM: aim_simulator's 3 + tWPRE
    return {
        "RD->WR": c["CL"] + c["BL"] + turn - c["CWL"],       # read data off the bus, then write data
        "WR->RD same BG": c["CWL"] + c.get("BL_L", c["BL"]) + c["tWTR_L"],   # LPDDR5: BL/n_max
        "WR->PRE": c["CWL"] + c["BL"] + c["tWR"],            # write recovery
        "ACT->ACT same BG": c["tRRD_L"],
        "ACT->ACT other BG": c["tRRD_S"],
        "PREA->REF": t_rp_all(spec),                         # LPDDR5: tRPab
        "REF->ACT": c["tRFC"],
    }


def flat_bank(spec, bg=0, ba=0, rank=0):
    return int(mb._flat_bank(spec, {"rank": rank, "bank_group": bg, "bank": ba}))


def ticks(log, name):
    return [t for t, cmd, _ in log if cmd == CMD[name]]


def test_read_to_write_turnaround(spec):
    b = flat_bank(spec)
    after_read = 2 + ACT_CK[spec.name] + spec.cycles["tRCD_RD"]   # else GDDR6 writes first (tRCD_WR < tRCD_RD)
    _, log, _ = run_logged(spec, [(1, "R", b, 0, 0), (after_read, "W", b, 0, 1)])
    assert ticks(log, "WR")[0] - ticks(log, "RD")[0] == jedec_edges(spec)["RD->WR"]


def test_write_to_read_same_bank_group(spec):
    b = flat_bank(spec)
    after_write = 2 + ACT_CK[spec.name] + spec.cycles["tRCD_WR"] + 2    # the read arrives once WR has issued
    _, log, _ = run_logged(spec, [(1, "W", b, 0, 0), (after_write, "R", b, 0, 1)])
    assert ticks(log, "RD")[0] - ticks(log, "WR")[0] == jedec_edges(spec)["WR->RD same BG"]


def test_write_recovery_before_precharge(spec):
    b = flat_bank(spec)
    _, log, _ = run_logged(spec, [(1, "W", b, 0, 0), (1, "W", b, 1, 0)])
    assert ticks(log, "PRE")[0] - ticks(log, "WR")[0] == jedec_edges(spec)["WR->PRE"]


@pytest.mark.parametrize("same_bg", [True, False], ids=["same-bg", "other-bg"])
def test_activate_to_activate(spec, same_bg):
    other = flat_bank(spec, bg=0, ba=1) if same_bg else flat_bank(spec, bg=1, ba=0)
    _, log, _ = run_logged(spec, [(1, "R", flat_bank(spec), 0, 0), (1, "R", other, 0, 0)])
    act = ticks(log, "ACT")
    assert act[1] - act[0] == jedec_edges(spec)["ACT->ACT same BG" if same_bg else "ACT->ACT other BG"]


def test_refresh_closes_rows_and_blocks_activates(spec):
    c = spec.cycles
    s = load_dram(spec.name, sets=[f"timing_cycles.tREFI={c['tRFC'] + 200}"])
    later = c["tRFC"] + 250                                      # a row miss that must wait for tRFC
    _, log, _ = run_logged(s, [(1, "R", flat_bank(s), 0, 0), (later, "R", flat_bank(s), 1, 0)])
    prea, ref, act = ticks(log, "PREA")[0], ticks(log, "REF")[0], ticks(log, "ACT")[1]
    edges = jedec_edges(s)
    assert ref - prea == edges["PREA->REF"]
    assert act - ref == edges["REF->ACT"] - (ACT_CK[s.name] - 1)   # the bound ends at ACT-2 on LPDDR5


@pytest.mark.parametrize("name", ["ddr4-3200", "lpddr5-6400"])
def test_read_to_read_across_ranks_adds_trtrs(name):
    spec = load_dram(name, sets=["organisation.ranks=2", "controller.refresh=none"])
    _, log, _ = run_logged(spec, [(1, "R", flat_bank(spec, rank=0), 0, 0), (1, "R", flat_bank(spec, rank=1), 0, 0)])
    rd = ticks(log, "RD")
    assert rd[1] - rd[0] == spec.cycles["BL"] + spec.cycles["tRTRS"]
