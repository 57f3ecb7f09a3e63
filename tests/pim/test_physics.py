"""Physics of the PIM kernels: MAC-rate ceilings, bytes moved, energy from cited per-command figures."""

import pytest

from pimsim.pim import api
from pimsim.pim.result import counters_from_counts

DEVICES = ["gddr6-aim-pim", "hbm-pim", "hbm3-pim", "hbm3-pim-bg", "hbm3-pim-buffer"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fidelity", ["command", "tile"])
def test_mac_rate_never_exceeds_lanes_x_units_x_clock(device, fidelity):
    spec = api.device(device)
    for m, k, c in [(4096, 1024, 2), (512, 512, 1), (1000, 3000, 3)]:
        r = api.gemv(spec, m, k, channels=c, fidelity=fidelity, refresh="none")
        ceiling = spec.compute.lanes * spec.units_per_channel * spec.unit_clock_Hz() * c
        rate = r.macs / r.time_s
        assert rate <= ceiling
    # a long GEMV on one channel keeps the units busy most of the time: the ceiling is not vacuous
    r = api.gemv(spec, 2048, 2048, channels=1, fidelity=fidelity, refresh="none")
    assert r.macs / r.time_s > 0.3 * spec.compute.lanes * spec.units_per_channel * spec.unit_clock_Hz()


def test_unit_clocks_match_the_papers():
    assert api.device("gddr6-aim-pim").unit_clock_Hz() == pytest.approx(1e9)      # AiM: 1 GHz PUs
    assert api.device("hbm-pim").unit_clock_Hz() == pytest.approx(250e6)         # tCCD_L at 2.0 Gb/s
    aim = api.device("gddr6-aim-pim")
    assert 2 * aim.peak_macs_per_s() / aim.channels * 2 == pytest.approx(1.024e12)  # 1 TFLOPS per 2-channel die


@pytest.mark.parametrize("device,m,k,c", [("gddr6-aim-pim", 512, 2048, 2), ("hbm-pim", 1024, 1024, 2),
                                          ("hbm3-pim", 2048, 1024, 1), ("hbm3-pim-bg", 512, 512, 1),
                                          ("hbm3-pim-buffer", 64, 1024, 1)])
@pytest.mark.parametrize("fidelity", ["command", "tile"])
def test_bytes_read_by_mac_commands_equal_the_weight_bytes(device, m, k, c, fidelity):
    spec = api.device(device)
    r = api.gemv(spec, m, k, channels=c, fidelity=fidelity, refresh="none")
    mac = spec.compute.mac_command
    read = counters_from_counts(spec.tables(), {mac: r.commands[mac]})["read_B"]
    assert read == m * k * 2
    assert r.macs == m * k


def test_padding_is_read_too_when_rows_do_not_fill_the_units():
    r = api.gemv("gddr6-aim-pim", 17, 1000, channels=1, fidelity="tile", refresh="none")
    assert r.bytes["array_read"] > 17 * 1000 * 2


def test_aim_energy_components_follow_the_cited_per_command_figures():
    spec = api.device("gddr6-aim-pim")
    r = api.gemv(spec, 1024, 1024, channels=4, fidelity="command", refresh="none")
    e, n = r.energy_J, r.commands
    assert e["act_pre"] == pytest.approx(n["ACT16"] * 16 * 2.95e-9)
    assert e["mac"] == pytest.approx(n["MAC16"] * 1.314e-9)
    assert e["io"] == pytest.approx((n["WRGB"] + n["WRMAC16"] + n["RDMAC16"]) * 32 * 8 * 5.5e-12)
    assert e["background"] == pytest.approx(0.26375 * 4 * r.time_s)
    assert e["refresh"] == 0 and r.energy_total_J == pytest.approx(sum(e.values()))


def test_hbm_energy_uses_fgdram_cell_and_activation_figures():
    spec = api.device("hbm3-pim")
    r = api.gemv(spec, 2048, 1024, channels=1, fidelity="tile", refresh="none")
    assert r.energy_J["read_write"] == pytest.approx(r.bytes["array_read"] * 8 * 0.44e-12)
    assert r.energy_J["mac"] == pytest.approx(r.macs * 0.32e-12)
    bg = api.gemv("hbm3-pim-bg", 2048, 1024, channels=1, fidelity="tile", refresh="none")
    assert bg.energy_J["datapath"] == pytest.approx(bg.bytes["array_read"] * 8 * 1.01e-12)


def test_tile_energy_equals_command_energy_without_refresh():
    for device in DEVICES:
        a = api.gemv(device, 1000, 1500, channels=2, fidelity="command", refresh="none")
        b = api.gemv(device, 1000, 1500, channels=2, fidelity="tile", refresh="none")
        assert b.energy_total_J == pytest.approx(a.energy_total_J, rel=1e-9)


def test_refresh_adds_time_and_refresh_energy():
    a = api.gemv("hbm-pim", 4096, 4096, channels=2, fidelity="command", refresh="none")
    b = api.gemv("hbm-pim", 4096, 4096, channels=2, fidelity="command", refresh="all-bank")
    assert b.time_ps > a.time_ps and b.energy_J["refresh"] > 0
    assert b.commands["REF"] == b.refreshes


def test_hbm_pim_gemv_speedup_over_host_is_bounded_by_internal_over_external_bandwidth():
    spec = api.device("hbm-pim")
    assert spec.channels * spec.dram.organisation.pseudo_channels == 64
    pim = api.gemv(spec, 4096, 4096, fidelity="tile")
    host_s = 4096 * 4096 * 2 / spec.external_bw_Bps()
    bound = spec.internal_bw_Bps() / spec.external_bw_Bps()
    assert bound == pytest.approx(4.0)
    assert 1.5 < host_s / pim.time_s < bound
