"""Configuration loading: presets, overrides, validation and the errors users see."""

import pytest

from pimsim.core.config import apply_sets, deep_merge, load_yaml, parse_set_option
from pimsim.core.errors import ConfigError
from pimsim.dram.spec import load_dram

HBM3 = "devices/hbm3-6400.yaml"


def _device(tmp_path, text):
    path = tmp_path / "dev.yaml"
    path.write_text(text)
    return str(path)


def test_preset_override_chain(tmp_path):
    path = _device(tmp_path, "preset: hbm3-6400\nname: hbm3-slow\ntiming_cycles: {tRCD_RD: 40}\n")
    spec = load_dram(path)
    assert spec.cycles["tRCD_RD"] == 40 and spec.cycles["tRP"] == 26
    assert spec.source.startswith("JEDEC JESD238")        # inherited from the base preset
    assert spec.name == "hbm3-slow"


def test_set_option_types():
    assert parse_set_option("timing_cycles.tRP=30") == (["timing_cycles", "tRP"], 30)
    assert parse_set_option("clock.tCK=700ps") == (["clock", "tCK"], "700ps")
    assert apply_sets({"a": {"b": 1}}, ["a.c=true"]) == {"a": {"b": 1, "c": True}}
    with pytest.raises(ConfigError):
        parse_set_option("no-equals-sign")


def test_time_overrides_round_up_to_cycles(tmp_path):
    spec = load_dram("hbm3-6400", sets=["timing.tRP=16.3ns"])
    assert spec.cycles["tRP"] == 27          # ceil(16300 / 625)


def test_deep_merge_keeps_siblings():
    assert deep_merge({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}}


@pytest.mark.parametrize("sets, fragment", [
    (["organisation.colums=128"], "unknown key 'colums'"),
    (["clock.tCK=625"], "no unit"),
    (["clock.tCK=16GB"], "expected a time"),
    (["timing_cycles.tRP=-3"], "negative"),
    (["timing_cycles.tRAS=10"], "tRAS (10) < tRCD_RD"),
    (["timing_cycles.tFOO=3"], "unknown timing parameter 'tFOO'"),
    (["timing_cycles.BL=4"], "BL = 4 cycles"),
    (["organisation.row_size=2KiB"], "row_size"),
    (["controller.row_policy=sometimes"], "not allowed"),
    (["standard=hbm9"], "unknown DRAM standard 'hbm9'"),
])
def test_bad_values_name_file_key_and_value(sets, fragment):
    with pytest.raises(ConfigError) as err:
        load_dram("hbm3-6400", sets=sets)
    msg = err.value.one_line()
    assert fragment in msg
    assert "hbm3-6400.yaml" in msg
    assert "\n" not in msg


def test_missing_required_key(tmp_path):
    text = open(HBM3).read().replace("data_rate: 6400MT/s\n", "")
    with pytest.raises(ConfigError, match="missing required key 'data_rate'"):
        load_dram(_device(tmp_path, text))


def test_malformed_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"dev.yaml:\d+: malformed YAML"):
        load_yaml(_device(tmp_path, "kind: dram\nname: x\norganisation: {channels: 1\n"))


def test_unknown_device_lists_valid_ones():
    with pytest.raises(ConfigError, match="valid: .*hbm2-2000.*hbm3-6400"):
        load_dram("hbm4-9000")


def test_derived_quantities():
    spec = load_dram("hbm3-6400")
    assert spec.organisation.access_bytes == 32
    assert spec.organisation.row_bytes == 1024
    assert spec.peak_bw_Bps == pytest.approx(819.2e9)
    assert spec.capacity_bytes == 16 * 2**30
    assert float(spec.tick_ps) == 312.5


def test_a_binary_preset_file_is_one_clear_error(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"kind: dram\n\xff\xfe\x00 not text")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_yaml(path)
