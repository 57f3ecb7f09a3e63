"""``pimsim draw``, ``list`` and ``show-config`` for device and system presets, through click's CliRunner."""

import pytest
import yaml
from click.testing import CliRunner

from pimsim.cli import main
from pimsim.core.presets import PROJECT_ROOT
from pimsim.devices.loading import preset_kinds

MY_KINDS = set(preset_kinds())
PRESETS = sorted(p for p in (PROJECT_ROOT / "devices").glob("*.yaml")
                 if yaml.safe_load(p.read_text()).get("kind") in MY_KINDS)
SYSTEMS = sorted((PROJECT_ROOT / "systems").glob("*.yaml"))


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_draw_writes_a_picture(tmp_path):
    out = tmp_path / "cent.png"
    result = run("draw", "cent", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000 and f"wrote {out}" in result.output


def test_draw_an_unknown_system_is_one_line_error(tmp_path):
    result = run("draw", "cnet", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "did you mean 'cent'" in result.output


def test_draw_refuses_unknown_picture_formats(tmp_path):
    result = run("draw", "cent", "-o", str(tmp_path / "x.bmp"))
    assert result.exit_code == 1 and "use .png, .pdf or .svg" in result.output


@pytest.mark.parametrize("path", PRESETS + SYSTEMS, ids=lambda p: p.stem)
def test_every_preset_cites_a_source_and_resolves(path):
    assert yaml.safe_load(path.read_text()).get("source") or "preset" in yaml.safe_load(path.read_text())
    result = run("show-config", path.stem, "--resolved")
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.output)
    assert resolved["source"].strip()


def test_list_shows_every_device_and_system_preset_with_its_source():
    result = run("list")
    assert result.exit_code == 0, result.output
    for path in PRESETS + SYSTEMS:
        name = yaml.safe_load(path.read_text()).get("name", path.stem)
        line = next(line for line in result.output.splitlines() if line.strip().startswith(name + " "))
        assert "INVALID" not in line
    assert result.output.count("source:") >= len(PRESETS) + len(SYSTEMS)


def test_show_config_resolves_derived_link_bandwidth():
    result = run("show-config", "cxl3-x4", "--resolved")
    derived = yaml.safe_load(result.output)["derived"]
    assert derived["payload_bandwidth_GBps"] == 24.0 and derived["latency_ns"] == 80.0


def test_show_config_of_a_bad_override_is_one_line():
    result = run("show-config", "cent", "--resolved", "--set", "devices.pim.count=0")
    assert result.exit_code == 1 and "devices.pim.count" in result.output
