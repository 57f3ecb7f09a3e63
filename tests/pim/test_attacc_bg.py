"""AttAcc's bank-group layout: DRAM rows rotate over the bank group's four banks, so row switches
hide behind the other banks' MACs and a head's GEMV costs what AttAcc's closed form says (notes of
the AttAcc simulator, scale-snu/attacc_simulator c600051: T_gemv = nCCDSB x ceil(L/16) x ceil(d/16))."""

import pytest

from pimsim.pim import api
from pimsim.pim.kernels import host as khost
from pimsim.pim.spec import load_pim


@pytest.mark.parametrize("spacing", [6, 8])
@pytest.mark.parametrize("piece", ["score", "context"])
def test_head_gemv_costs_macs_times_the_unit_spacing(spacing, piece):
    spec = load_pim("hbm3-pim-bg", sets=[f"timing_cycles.tCCD_SB={spacing}"])
    fn = api.attention_score if piece == "score" else api.attention_context
    seq, dim = 2049, 128
    r = fn(spec, seq, 16, dim, refresh="none", fidelity="command")       # one head per channel
    n_mac = -(-seq // 16) * (dim // 16)
    assert r.commands["MACSB"] == 16 * n_mac
    # the rest is the input fills and read-outs, in the stream here (AttAcc moves them on the data path,
    # beside the MACs): 3-5% for the score (a read-out per 16 tokens), 4-7% for the context (a fill per
    # 512 tokens)
    assert spacing * n_mac < r.cycles < (1.05 if piece == "score" else 1.08) * spacing * n_mac


def test_rows_rotate_over_the_banks_and_open_ahead():
    spec = api.device("hbm3-pim-bg")
    layout = khost.HostLayout(spec)
    plan = api.check_gemv(spec, 129 * 16, 128, 1)                            # one head's keys: 129 per unit
    reqs = khost.gemv_requests(layout, plan)
    t = spec.tables()
    macs = [(key[-1], row) for cmd, key, row in reqs if cmd == t.cmd["MACSB"]]
    rows = list(dict.fromkeys(macs))                                         # (bank, row) in stream order
    assert rows[:6] == [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1)]
    assert len(macs) == 129 * 8 and len(rows) == -(-129 // 4)               # 4 tokens x 8 columns per row
    opens = [i for i, (cmd, key, row) in enumerate(reqs) if cmd == t.cmd["ACTSB"] and row == 1 and key[-1] == 0]
    first_use = next(i for i, (cmd, key, row) in enumerate(reqs) if cmd == t.cmd["MACSB"] and row == 1)
    assert opens[0] < first_use - 64                                         # opened a burst ahead
