"""System files: every system builds; bad topologies, links and placements are one clear error."""

import pytest

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.core.presets import PROJECT_ROOT
from pimsim.system import build_system, load_system_spec

SYSTEMS = sorted(p.stem for p in (PROJECT_ROOT / "systems").glob("*.yaml"))


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_system_builds_and_cites_its_source(name):
    system = build_system(name)
    assert system.spec.source and len(system.devices) >= 2
    for node in system.graph:
        for other in system.graph:
            assert system.network.router.route(node, other) is not None


def test_cent_has_32_devices_of_32_aim_channels_behind_one_switch_with_144_lanes():
    cent = build_system("cent")
    pims = cent.group("pim")
    assert len(pims) == 32 and all(cent.device(p).capacity_bytes == 16 * 2**30 for p in pims)
    from pimsim.pim import api

    spec = api.device(cent.device("pim0").config)              # the GDDR6-AiM PIM preset
    assert spec.channels == 32 and spec.dram.name == "gddr6-aim"
    lanes = sum(d["link"].lanes for *_, d in cent.graph.edges(data=True))
    assert lanes == 144
    assert cent.graph.degree("switch") == 33


def test_group_count_can_be_overridden_like_any_field():
    spec = load_system_spec("cent", sets=["devices.pim.count=8"])
    assert spec.devices["pim"].count == 8


def write(tmp_path, text):
    path = tmp_path / "sys.yaml"
    path.write_text(text)
    return str(path)


BASE = """kind: system
name: tiny
source: test
devices:
  host: {preset: xeon-8380}
  gpu: {preset: a100-80gb, count: 2}
  lonely: {preset: h100-sxm}
links:
  - {between: [host, gpu], preset: pcie4-x16}
"""


def test_an_unreachable_device_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        build_system(write(tmp_path, BASE))
    line = err.value.one_line()
    assert "unreachable device(s): lonely" in line and "sys.yaml: links" in line


def test_a_link_with_no_bandwidth_names_the_system_file_and_entry(tmp_path):
    text = BASE.replace("  lonely: {preset: h100-sxm}\n", "") \
        .replace("preset: pcie4-x16}", "preset: pcie4-x16, bandwidth: 0GB/s}")
    with pytest.raises(ConfigError) as err:
        build_system(write(tmp_path, text))
    line = err.value.one_line()
    assert "links[0]" in line and "bandwidth above zero" in line


def test_unknown_group_in_a_link(tmp_path):
    text = BASE.replace("[host, gpu]", "[host, gpus]")
    with pytest.raises(ConfigError, match="unknown device 'gpus'.*did you mean 'gpu'"):
        build_system(write(tmp_path, text))


def test_groups_of_different_sizes_cannot_be_paired(tmp_path):
    text = BASE.replace("lonely: {preset: h100-sxm}", "other: {preset: h100-sxm, count: 3}") + \
        "  - {between: [gpu, other], preset: nvlink3}\n"
    with pytest.raises(ConfigError, match="cannot pair gpu"):
        build_system(write(tmp_path, text))


def test_a_switch_with_too_few_ports(tmp_path):
    with pytest.raises(ConfigError, match="switch switch has 33 links but 16 ports"):
        build_system("cent", sets=["devices.switch.ports=16"])


def test_bad_override_names_file_group_and_key():
    with pytest.raises(ConfigError) as err:
        build_system("dgx-a100", sets=["devices.gpu.memory_bw=fast"])
    line = err.value.one_line()
    assert "systems/dgx-a100.yaml" in line and "devices.gpu" in line and "memory_bw" in line


def test_placing_more_data_than_a_device_holds_is_a_capacity_error():
    cent = build_system("cent")
    cent.place("pim", 400 * 2**30, "llama weights")       # 12.5 GiB on each of 32 devices: fits
    with pytest.raises(CapacityError) as err:
        cent.place("pim0", 4 * 2**30, "kv cache")
    assert "pim0" in err.value.one_line() and "kv cache needs 4 GiB" in err.value.one_line()


def test_operators_run_on_the_devices_of_a_system(op):
    dgx = build_system("dgx-a100")
    g = op("gemv", n=8192, k=8192, flops=2 * 8192 * 8192, bytes_read=2 * 8192 * 8192, bytes_written=16384)
    procs = [dgx.execute(gpu, g) for gpu in dgx.group("gpu")]
    dgx.env.run(dgx.env.all_of(procs))
    assert dgx.env.now == dgx.device("gpu0").cost_ps(g)
