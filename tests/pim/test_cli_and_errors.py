"""pimsim kernel / replay --format aim through click, capacity and configuration errors, PIM modules."""

import json

import pytest
from click.testing import CliRunner

from pimsim.cli import main
from pimsim.core.errors import CapacityError, ConfigError
from pimsim.pim import api
from pimsim.pim.spec import load_pim


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_kernel_json_has_the_agreed_keys():
    result = run("kernel", "gemv", "--device", "hbm-pim", "--shape", "1024x512", "--channels", "2", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"cycles", "time_ps", "energy_J", "fidelity", "device"} <= set(out)
    assert out["fidelity"] == "tile" and out["device"] == "hbm-pim" and out["time_ps"] == out["cycles"] * 1000
    assert out["energy_J"] == pytest.approx(sum(out["energy_by_component_J"].values()))


@pytest.mark.parametrize("kernel,shape", [("gemv", "300x500"), ("add", "5000"), ("mul", "5000"),
                                          ("attention", "256x4x64"), ("score", "100x2x128"),
                                          ("context", "100x2x128")])
def test_kernel_table_at_command_level(kernel, shape):
    result = run("kernel", kernel, "--shape", shape, "--channels", "2", "--fidelity", "command")
    assert result.exit_code == 0, result.output
    assert "command level" in result.output and "energy" in result.output and "utilisation" in result.output


@pytest.mark.parametrize("args,message", [
    (["gemv", "--shape", "4x"], "gemv takes MxK"),
    (["gemv", "--shape", "200000x200000"], "needs 74.51 GiB but 32 channel(s) of gddr6-aim-pim hold 16 GiB"),
    (["gemv", "--shape", "16x100000000"], "needs 97657 rows per bank but a bank of gddr6-aim-pim has 16384"),
    (["gemv", "--shape", "64x64", "--channels", "40"], "40 channels requested but gddr6-aim-pim has 32"),
    (["attention", "--shape", "128x4x2048"], "does not fit the 2 KiB global buffer"),
    (["add", "--device", "hbm3-pim", "--shape", "100"], "do GEMVs only"),
    (["gemv", "--device", "hbm3-6400", "--shape", "64x64"], "not a PIM device"),
    (["gemv", "--device", "hbm-pim", "--shape", "64x64", "--set", "compute.lanes=8"], "compute.lanes"),
])
def test_bad_input_is_one_line_and_exit_1(args, message):
    result = run("kernel", *args)
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and message in result.output


def test_replay_format_aim(tmp_path):
    trace = tmp_path / "t.trace"
    trace.write_text("AiM WR_GB 8 0 0x80000000\nAiM WR_BIAS 0 0x80000000\nAiM MAC_ABK 8 0x80000000 3\n"
                     "AiM RD_MAC 0 0x80000000\nR MEM 5 2 9\nAiM EOC\n")
    result = run("replay", "--format", "aim", str(trace), "--refresh", "none", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["device"] == "gddr6-aim-pim" and out["commands"]["MAC16"] == 8 and out["commands"]["RD"] == 1
    assert out["channels_active"] == 2 and out["cycles"] > 56 + 8 * 2


def test_replay_format_aim_needs_an_aim_device(tmp_path):
    trace = tmp_path / "t.trace"
    trace.write_text("AiM EOC\n")
    result = run("replay", "--format", "aim", str(trace), "--device", "hbm-pim")
    assert result.exit_code == 1 and "AiM traces need a GDDR6-AiM preset" in result.output


def test_show_config_resolves_pim_presets():
    result = run("show-config", "hbm3-pim-bg", "--resolved")
    assert result.exit_code == 0, result.output
    assert "mac_command: MACSB" in result.output and "unit_clock_MHz: 200.0" in result.output


@pytest.mark.parametrize("sets,where", [
    (["architecture=hbm-pim"], "extends hbm2"),
    (["timing_cycles={}"], "timing_cycles: architecture attacc needs timing"),
    (["compute.mac_command=MACXX"], "compute.mac_command"),
    (["energy.commands={MACQ: 1nJ}"], "energy.commands.MACQ"),
    (["compute.buffer=100B"], "compute.buffer"),
])
def test_preset_errors_name_the_key(sets, where):
    with pytest.raises(ConfigError, match=where):
        load_pim("hbm3-pim", sets)


def test_capacity_limits_are_errors_naming_the_limit():
    with pytest.raises(CapacityError, match="rows per bank"):
        api.check_attention("hbm-pim", seq=2_000_000, heads=64, head_dim=128, channels=1)
    with pytest.raises(CapacityError, match="a bank of hbm-pim has 16384 rows"):
        api.elementwise("hbm-pim", "add", 10**10)


def op(kind, **fields):
    from pimsim.trace.schema import OpRecord

    base = dict(id=0, step=0, layer=0, phase="decode", name="op", m=1, n=1, k=1, heads=0, head_dim=0, batch=0,
                seq=0, shards=1, weight_bits=16, activation_bits=16, kv_bits=16, bytes_read=0, bytes_written=0,
                weight_bytes=0, flops=0)
    return OpRecord(kind=kind, **{**base, **fields})


def test_pim_modules_time_pim_operators_with_the_tile_model():
    from pimsim.devices.loading import load_device
    from pimsim.devices.pim_module import PimModule

    cent = PimModule("pim0", load_device("cent-cxl-aim"))
    gemv = op("gemv", m=1, n=4096, k=4096)
    assert cent.cost_ps(gemv) == api.gemv("gddr6-aim-pim", 4096, 4096).time_ps
    attacc = PimModule("attacc0", load_device("attacc-hbm3-pim"))
    score = op("attention_score", seq=2048, heads=96, head_dim=128, batch=10)
    one_stack = api.attention_score("hbm3-pim", 2048, 96, 128, batch=2).time_ps      # 10 sequences on 5 stacks
    assert attacc.cost_ps(score) == one_stack


def test_the_preset_fidelity_switch_picks_the_model_and_api_imports_no_simpy():
    import subprocess
    import sys

    assert api.gemv("hbm-pim", 64, 64).fidelity == "tile"
    assert api.gemv(load_pim("hbm-pim", ["fidelity=command"]), 64, 64).fidelity == "command"
    code = "import sys, pimsim.pim.api; sys.exit('simpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0      # placements stay SimPy-free
