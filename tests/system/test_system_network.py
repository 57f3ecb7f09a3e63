"""Transfers over a system's links against hand formulas: latency sums, narrowest link, contention."""

import math

import pytest

from pimsim.system import build_system


def run(system, process):
    system.env.run(process)
    return system.env.now


@pytest.fixture
def cent():
    return build_system("cent")


def test_cent_one_hop_latency_is_180_ns(cent):
    # CENT: 4 ports x 25 ns + 2 x 30 ns PCIe + 20 ns switch between two devices on the switch
    assert cent.network.path_latency_ps("pim0", "pim1") == 4 * 25_000 + 2 * 30_000 + 20_000 == 180_000


@pytest.mark.parametrize("nbytes", [64, 192, 4096, 1_000_000, 10 * 2**20])
def test_transfer_takes_hop_latencies_plus_bytes_over_the_narrowest_link(cent, nbytes):
    x16, x4 = 128e9, 32e9                         # raw rates: 16 and 4 lanes of 8 GB/s
    latency = 80_000 + 20_000 + 80_000            # host link, switch, device link
    flits = math.ceil(nbytes / 192)               # three 64 B messages per 256 B flit
    narrowest = max(flits * 256 / x16, flits * 256 / x4)
    expected = latency + math.ceil(narrowest * 1e12 - 1e-6)
    assert cent.network.ideal_transfer_ps("host", "pim3", nbytes) == expected
    assert run(cent, cent.transfer("host", "pim3", nbytes)) == expected


def test_two_concurrent_transfers_over_one_link_take_twice_as_long(cent):
    n = 8 * 2**20
    latency = cent.network.path_latency_ps("host", "pim5")
    alone = run(cent, cent.transfer("host", "pim5", n)) - latency
    both = build_system("cent")
    a, b = both.transfer("host", "pim5", n), both.transfer("host", "pim5", n)
    both.env.run(both.env.all_of([a, b]))
    assert both.env.now - latency == pytest.approx(2 * alone, rel=0.01)


def test_transfers_on_disjoint_links_do_not_slow_each_other(cent):
    n = 8 * 2**20
    alone = cent.network.ideal_transfer_ps("pim0", "pim1", n)
    flows = [cent.transfer("pim0", "pim1", n), cent.transfer("pim2", "pim3", n)]
    cent.env.run(cent.env.all_of(flows))
    assert cent.env.now == alone


def test_full_duplex_links_carry_both_directions_at_once(cent):
    n = 4 * 2**20
    alone = cent.network.ideal_transfer_ps("host", "pim0", n)
    flows = [cent.transfer("host", "pim0", n), cent.transfer("pim0", "host", n)]
    cent.env.run(cent.env.all_of(flows))
    assert cent.env.now == alone


def test_gather_into_the_host_is_limited_by_the_host_link(cent):
    n, k = 4 * 2**20, 8
    cent.env.run(cent.network.gather([f"pim{i}" for i in range(k)], "host", n))
    host_link_s = k * math.ceil(n / 192) * 256 / 128e9     # 8 x 24 GB/s offered, 96 GB/s accepted
    assert cent.env.now / 1e12 == pytest.approx(host_link_s, rel=0.02)


def test_multicast_sends_once_at_half_bandwidth_instead_of_32_times(cent):
    n = 2**20
    pims = cent.group("pim")
    multicast = run(cent, cent.network.multicast("host", pims, n))
    per_device = math.ceil(n / 192) * 256 / 32e9 / 0.5       # device links at half rate
    assert multicast == pytest.approx(180_000 + per_device * 1e12, rel=0.01)
    unicast = build_system("cent")
    unicast.env.run(unicast.network.gather_like([("host", p) for p in pims], n))
    assert unicast.env.now > 2.5 * multicast                  # 32 copies through the 96 GB/s host link


def test_multicast_without_switch_support_falls_back_to_unicasts():
    system = build_system("gpu-cxl-memory")
    n = 2**20
    system.env.run(system.network.multicast("host", system.group("cxlmem"), n))
    alone = system.network.ideal_transfer_ps("host", "cxlmem0", n)
    assert system.env.now > 1.5 * alone                       # four copies share the host link


def test_ring_allreduce_over_nvlink_matches_its_formula():
    dgx = build_system("dgx-a100")
    gpus = dgx.group("gpu")
    n = 64 * 2**20
    piece = math.ceil(n / 8)
    expected = 2 * 7 * math.ceil(piece / 300e9 * 1e12)
    assert dgx.network.ideal_allreduce_ps(gpus, n) == expected
    assert run(dgx, dgx.network.allreduce(gpus, n)) == pytest.approx(expected, rel=1e-4)


def test_gpus_talk_over_nvswitch_not_through_the_host():
    dgx = build_system("dgx-attacc")
    assert [v for _, v, _ in dgx.network.router.route("gpu0", "attacc5")] == ["nvswitch", "attacc5"]
    assert dgx.network.bottleneck_Bps("gpu0", "attacc5") == 300e9


def test_channel_statistics_count_bytes(cent):
    run(cent, cent.transfer("pim0", "pim1", 10_000))
    assert cent.network.stats[("pim0", "switch")].bytes == 10_000
    assert cent.network.stats[("switch", "pim1")].bytes == 10_000
