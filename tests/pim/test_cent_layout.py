"""CENT's attention layout and near-memory units against CENT's own per-block figures
(tests/data/cent_reference.yaml): what its trace emitter issues, how the PIM time grows with the
context, and the near-memory cycles of a block."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.pim import api
from pimsim.pim.kernels import aim_cent as kc

REF = yaml.safe_load((Path(__file__).parents[1] / "data" / "cent_reference.yaml").read_text())["models"]
AIM = "gddr6-aim-pim"
TCK_MS = 0.5e-9 * 1e3


def _attention_ms(shape, seq, fidelity="tile"):
    kw = {"kv_heads": shape["kv_heads"], "channels": shape["channels"], "groups": shape["groups"],
          "refresh": "none", "fidelity": fidelity, "layout": "cent"}
    s = api.attention_score(AIM, seq, shape["heads"], shape["head_dim"], **kw)
    c = api.attention_context(AIM, seq, shape["heads"], shape["head_dim"], **kw)
    return (s.time_ps + c.time_ps) / 1e9


@pytest.mark.parametrize("model", sorted(REF))
def test_attention_time_grows_per_token_as_in_cents_simulation(model):
    """The slope of CENT's per-block PIM time is its attention: within 1% (CENT never refreshes)."""
    shape, fit = REF[model]["shape"], REF[model]["pim_fit"]
    seqs = np.arange(256, 4097, 256)
    slope = np.polyfit(seqs, [_attention_ms(shape, int(s)) for s in seqs], 1)[0]
    assert slope == pytest.approx(fit["b_ms_per_token"], rel=0.01)


@pytest.mark.parametrize("model", sorted(REF))
def test_block_gemvs_make_up_most_of_cents_fixed_cost(model):
    """The FC GEMVs (CENT's reuse-GB stream) plus attention's fixed part are 85-100% of CENT's
    intercept; the rest is CENT's element-wise passes through the banks (RMSNorm, rotary, SiLU, K/V
    writes), which pimsim charges to the near-memory units instead."""
    shape, fit = REF[model]["shape"], REF[model]["pim_fit"]
    e, f, d, c = shape["hidden"], shape["ffn"], shape["head_dim"], shape["channels"]
    q, kv = shape["heads"] * d, shape["kv_heads"] * d
    gemvs = [(q, e), (kv, e), (kv, e), (e, e), (f, e), (f, e), (e, f)]
    fc_ms = sum(api.gemv(AIM, m, k, channels=c, refresh="none").time_ps for m, k in gemvs) / 1e9
    fixed = 2 * _attention_ms(shape, 1024) - _attention_ms(shape, 2048)
    assert 0.85 * fit["a_ms"] < fc_ms + fixed < fit["a_ms"]


def test_streams_issue_what_cents_emitter_issues():
    """Llama-2-70B (GQA) at 3,000 tokens on 10 channels, 3 blocks per device: per channel and sequence."""
    geo = kc.CentAttention(3000, 64, 8, 128, 10, 3)
    score = kc.score_isrs(geo, 32)
    ops = [i.op for i in score]
    passes = -(-3000 // 160)                                  # tokens per pass: one per bank of the group
    assert ops.count("WR_GB") == passes * 8                   # one row of 8 key heads, 8 repeats (GQA)
    assert ops.count("MAC_ABK") == passes * 8 * 8             # 1024 // 128 heads per row
    # scale pass: scores of 64 heads, 2 per bank group (ceil(64 / 40)), 188 bursts, 3 groups' copies
    assert ops.count("W_MEM") == 2 * 2 * 32 * 188 * 3 and ops.count("R_MEM") == 2 * 32 * 188 * 3
    assert ops.count("EWMUL") == 2 * 3 and ops.count("SYNC") == 1
    context = [i.op for i in kc.context_isrs(geo, 32)]
    assert context.count("MAC_ABK") == 1 * 8 * 3 * 8         # 1 key head per channel x 8 repeats x 3 rows x 8
    assert all(i.channel // 10 < 3 for i in score if i.op.endswith("MEM"))


def test_dense_layout_is_faster_by_the_softmax_passes():
    kw = {"kv_heads": 32, "channels": 8, "refresh": "none", "fidelity": "tile"}
    cent = api.attention(AIM, 2048, 32, 128, layout="cent", groups=4, **kw)
    dense = api.attention(AIM, 2048, 32, 128, layout="dense", groups=4, **kw)
    assert dense.commands.get("WR", 0) == 0 and cent.commands["WR"] == 2 * 2 * 32 * 128   # 2 passes, 2 stores
    assert dense.time_ps < cent.time_ps < 2.5 * dense.time_ps


def test_groups_pace_only_the_plain_memory_lines():
    one = api.attention_score(AIM, 2048, 32, 128, channels=8, groups=1, layout="cent", refresh="none")
    four = api.attention_score(AIM, 2048, 32, 128, channels=8, groups=4, layout="cent", refresh="none")
    lines = kc.lines_per_store(kc.CentAttention(2048, 32, 32, 128, 8, 1))
    assert four.cycles - one.cycles == pytest.approx(3 * 3 * lines, rel=0.01)     # 3 stores/loads, 3 more groups
    assert four.commands == one.commands                                          # counts are one group's
    dense = [api.attention_score(AIM, 2048, 32, 128, channels=8, groups=g, layout="dense") for g in (1, 4)]
    assert dense[0].time_ps == dense[1].time_ps


def test_layout_and_groups_are_checked():
    with pytest.raises(ConfigError, match="only 'dense'"):
        api.attention_score("hbm3-pim", 128, 8, 128, layout="cent")
    with pytest.raises(ConfigError, match="layout must be one of"):
        api.attention_score(AIM, 128, 8, 128, layout="sparse")
    with pytest.raises(CapacityError, match="5 groups of 8 channels need 40 channels"):
        api.attention_score(AIM, 128, 8, 128, channels=8, groups=5)
    with pytest.raises(ConfigError, match="attention_layout 'cent'"):
        api.device(api.load_pim("hbm3-pim", sets=["attention_layout=cent"]))


@pytest.mark.parametrize("model", sorted(REF))
def test_near_memory_cycles_of_a_block_are_cents(model):
    """Two RMSNorms, the rotary embedding and the softmax of one block, as the trace emits them."""
    from pimsim.devices.loading import load_device
    from pimsim.devices.pnm import Pnm
    from pimsim.experiments.scenario import ScenarioSpec, load_inputs
    from pimsim.trace import generate

    pnm = Pnm("pnm", load_device("cent-pnm"))
    model_cfg, placement, system = load_inputs(ScenarioSpec(model=model, placement="cent", batch=1,
                                                            prompt_tokens=512, output_tokens=3584))
    acc = REF[model]["acc_cycles"]
    for ctx in (1024, 3000):
        trace = generate(model_cfg, placement.scenario("decode", 1, ctx, "FP16", system))
        ops = [trace.record(i) for i in range(len(trace))]
        block = [r for r in ops if r.layer == 0 and r.kind in ("norm", "rope", "softmax")]
        assert sum(pnm.compute_cycles(r) for r in block) == pytest.approx(acc["fixed"] + acc["per_token"] * ctx)
