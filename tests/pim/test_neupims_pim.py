"""NeuPIMs / Newton PIM kernels: tile level against command level, the calibrated tiles, physics, issue bound."""

from pathlib import Path

import pytest
import yaml

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.pim import api, neupims
from pimsim.pim.spec import load_pim

REF = yaml.safe_load((Path(__file__).parents[1] / "data" / "placement_references.yaml").read_text())["neupims"]
DEVICES = ("neupims-hbm2-pim", "newton-hbm2-pim")
KV_ROW = 1024          # bytes of one bank row


@pytest.fixture(scope="module", params=DEVICES)
def spec(request):
    return load_pim(request.param)


GRID = [  # kind, seq, heads, head_dim, batch, channels
    ("score", 1, 8, 128, 1, 1), ("score", 31, 8, 128, 1, 1), ("score", 33, 4, 128, 1, 1),
    ("score", 300, 8, 128, 1, 1), ("score", 777, 32, 128, 1, 1), ("score", 2048, 8, 128, 1, 1),
    ("score", 300, 8, 64, 3, 1), ("score", 129, 6, 128, 5, 2), ("score", 1000, 8, 128, 2, 1),
    ("context", 1, 8, 128, 1, 1), ("context", 20, 8, 128, 1, 1), ("context", 300, 8, 128, 1, 1),
    ("context", 512, 8, 128, 1, 1), ("context", 513, 4, 128, 1, 1), ("context", 2048, 8, 128, 1, 1),
    ("context", 300, 8, 64, 3, 1), ("context", 1500, 2, 128, 5, 2), ("context", 1000, 16, 128, 2, 1),
]


@pytest.mark.parametrize("case", GRID, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("refresh", ["none", "all-bank"])
def test_tile_level_agrees_with_command_level(spec, case, refresh):
    kind, seq, heads, head_dim, batch, channels = case
    cmd = neupims.attention(spec, kind, seq, heads, head_dim, batch, channels=channels, fidelity="command",
                            refresh=refresh)
    tile = neupims.attention(spec, kind, seq, heads, head_dim, batch, channels=channels, fidelity="tile",
                             refresh=refresh)
    assert tile.time_ps == pytest.approx(cmd.time_ps, rel=0.03)
    if refresh == "none":
        assert tile.time_ps == cmd.time_ps and tile.commands == cmd.commands


def test_tiles_take_what_the_neupims_simulator_measured():
    """A 300-token request (about the trace's mean): 20 score tiles and 32 context tiles, GWRITEs included."""
    spec = load_pim("neupims-hbm2-pim")
    score = neupims.attention(spec, "score", 300, 8, 128, channels=1).cycles / 20
    context = neupims.attention(spec, "context", 300, 8, 128, channels=1).cycles / 32
    assert score == pytest.approx(REF["tile_cycles"]["score"], rel=0.05)
    assert context == pytest.approx(REF["tile_cycles"]["context"], rel=0.05)


@pytest.mark.parametrize("seq", [512, 1024, 2048])
def test_bank_reads_are_the_kv_cache_plus_the_global_buffer_fills(spec, seq):
    heads, head_dim = 8, 128
    kv = seq * heads * head_dim * 2                      # K (or V) bytes of one request
    for kind in ("score", "context"):
        r = neupims.attention(spec, kind, seq, heads, head_dim, channels=1)
        assert r.bytes["array_read"] == kv + r.commands["GWRITE"] * KV_ROW
        assert r.macs == seq * heads * head_dim


def test_context_is_quantised_to_512_tokens():
    spec = load_pim("neupims-hbm2-pim")
    short = neupims.attention(spec, "context", 20, 8, 128, channels=1)
    full = neupims.attention(spec, "context", 512, 8, 128, channels=1)
    assert short.commands["GACT"] == full.commands["GACT"] == 8 * 4 * 8       # heads x tiles x bank groups
    assert short.cycles > 0.6 * full.cycles


def test_newton_is_held_to_the_shared_issue_queue_and_neupims_is_not():
    dual, naive = load_pim("neupims-hbm2-pim"), load_pim("newton-hbm2-pim")
    for kind in ("score", "context"):
        n = neupims.attention(naive, kind, 300, 8, 128, channels=1)
        c = n.commands
        issued = c["GWRITE"] + c["GACT"] // 8 + c["READRES"] + c["COMP"]
        assert n.cycles == issued * naive.channels                             # one transaction per tCK, 32 channels
        d = neupims.attention(dual, kind, 300, 8, 128, channels=1)
        fused = d.commands["GWRITE"] + d.commands["GACT"] // 8 + d.commands["READRES"]
        assert d.cycles > fused * dual.channels
        assert n.cycles > 3 * d.cycles if kind == "score" else n.cycles > 2.5 * d.cycles


def test_requests_on_one_channel_run_one_after_another():
    spec = load_pim("neupims-hbm2-pim")
    one = neupims.attention(spec, "score", 300, 8, 128, channels=1, refresh="none").cycles
    four = neupims.attention(spec, "score", 300, 8, 128, batch=4, channels=1, refresh="none").cycles
    spread = neupims.attention(spec, "score", 300, 8, 128, batch=4, channels=4, refresh="none").cycles
    assert four == pytest.approx(4 * one, rel=0.01) and spread == one


def test_bad_shapes_are_clear_errors():
    spec = load_pim("neupims-hbm2-pim")
    with pytest.raises(ConfigError, match="head_dim 96"):
        neupims.attention(spec, "score", 100, 8, 96)
    with pytest.raises(CapacityError, match="rows per bank"):
        neupims.check_attention(spec, 2048, 8, 128, batch=32 * 600)
    with pytest.raises(ConfigError, match="attention GEMVs of decode only"):
        neupims.unsupported(spec, "a weight GEMV")


def test_the_pim_api_routes_neupims_devices():
    spec = load_pim("neupims-hbm2-pim")
    direct = neupims.attention(spec, "context", 300, 8, 128, batch=64)
    assert api.attention_context("neupims-hbm2-pim", 300, 8, 128, batch=64) == direct
    api.check_attention("neupims-hbm2-pim", 300, 8, 128, batch=64)
    with pytest.raises(ConfigError, match="weight GEMV runs on the NPU"):
        api.gemv("newton-hbm2-pim", 64, 64)
