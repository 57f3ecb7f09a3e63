"""Link presets: CXL bandwidth from generation, lanes and flits; bad links are clear errors."""

import pytest

from pimsim.core.errors import ConfigError
from pimsim.devices.loading import load_device


def test_cent_cxl3_x4_link():
    link = load_device("cxl3-x4")
    assert link.raw_bandwidth_Bps == 4 * 8e9          # 8 GB/s per lane (CENT)
    assert link.bandwidth_Bps == 4 * 8e9 * 192 / 256  # 3 x 64 B messages per 256 B flit
    assert link.latency_ps == 2 * 25_000 + 30_000     # a port at each end and the PCIe PHY


@pytest.mark.parametrize("nbytes, flits", [(1, 1), (192, 1), (193, 2), (192 * 1000, 1000)])
def test_cxl3_serialization_counts_whole_flits(nbytes, flits):
    link = load_device("cxl3-x4")
    assert link.serialization_ps(nbytes) == flits * 8_000  # 256 B at 32 GB/s = 8 ns


def test_cxl2_uses_68_byte_flits_and_128b130b_encoding():
    link = load_device("cxl2-x16")
    assert link.raw_bandwidth_Bps == pytest.approx(16 * 32e9 * 128 / 130 / 8)
    assert link.bandwidth_Bps == pytest.approx(link.raw_bandwidth_Bps * 64 / 68)
    assert link.flits(640) == 10


def test_generation_defaults_can_be_overridden():
    link = load_device("cxl3-x4", sets=["messages_per_flit=1"])
    assert link.bandwidth_Bps == 32e9 * 64 / 256


@pytest.mark.parametrize("sets, message", [
    (["bandwidth=0GB/s"], "a link needs a bandwidth above zero"),
    (["bandwidth=25"], "has no unit"),
])
def test_a_link_with_no_bandwidth_is_a_config_error(sets, message):
    with pytest.raises(ConfigError) as err:
        load_device("nvlink3", sets=sets)
    assert message in err.value.one_line() and "devices/nvlink3.yaml" in err.value.one_line()


def test_missing_bandwidth_names_the_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("kind: link\nname: bad\nsource: test\nlatency: 5ns\n")
    with pytest.raises(ConfigError, match="missing required key 'bandwidth'"):
        load_device(str(f))


@pytest.mark.parametrize("sets, key", [(["generation=4.0"], "generation"), (["lanes=3"], "lanes"),
                                       (["flit=128B"], "flit"), (["messages_per_flit=5"], "messages_per_flit")])
def test_impossible_cxl_links(sets, key):
    with pytest.raises(ConfigError) as err:
        load_device("cxl3-x4", sets=sets)
    assert key in err.value.one_line()
