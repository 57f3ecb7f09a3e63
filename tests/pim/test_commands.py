"""PIM command timing at the exact bounds, the AiM instruction format, and in-order issue."""

import pytest

from pimsim.core.errors import TraceError
from pimsim.pim import api
from pimsim.pim.isr import Isr, mask_of, parse_isr_lines
from pimsim.pim.timing import ChannelState

ALL2 = (None, None)          # every bank of a GDDR6 channel


def aim_state():
    t = api.device("gddr6-aim-pim").tables()
    return t, ChannelState(t)


@pytest.mark.parametrize("first,second,key2,cycles", [
    ("ACT16", "MAC16", ALL2, 56),        # nRCDRDMAC
    ("ACT16", "EWMUL16", ALL2, 25),      # nRCDEWMUL
    ("MAC16", "MAC16", ALL2, 2),         # tCCD_L
    ("MAC16", "PREA", ALL2, 12),         # tRTP
    ("EWMUL16", "PREA", ALL2, 39),       # CWL + tWR
    ("PREA", "ACT16", ALL2, 32),         # tRP
    ("ACT16", "PREA", ALL2, 54),         # tRAS
    ("TMOD", "WRGB", None, 32),          # tMODCH
    ("RDMAC16", "WRMAC16", None, 5),     # read-to-write turnaround of the MAC registers
    ("MAC16", "RDMAC16", None, 2),
    ("ACT", "MAC", (1, 2), 56),          # single-bank MAC after its bank's ACT
])
def test_aim_spacing_is_exactly_the_rule(first, second, key2, cycles):
    t, s = aim_state()
    key1 = (1, 2) if first == "ACT" else (ALL2 if first in ("ACT16", "MAC16", "EWMUL16", "PREA") else None)
    if t.role[t.cmd[second]] == "compute":
        s.issue(t.cmd["ACT16" if key2 == ALL2 else "ACT"], key2, -1000, row=0)
    s.issue(t.cmd[first], key1, 0, row=0)
    assert s.earliest(t.cmd[second], key2) == cycles


def test_all_bank_commands_need_every_bank_and_close_them_all():
    t, s = aim_state()
    mac = t.cmd["MAC16"]
    assert s.next_command(mac, ALL2, 5) == t.cmd["ACT16"]
    s.issue(t.cmd["ACT"], (0, 0), 0, row=3)           # one bank open on another row
    assert s.next_command(mac, ALL2, 5) == t.cmd["PREA"]
    s.issue(t.cmd["PREA"], ALL2, 100)
    assert all(r < 0 for r in s.open_row)


def test_attacc_mac_spacings_power_limit_and_bank_group_rotation():
    t = api.device("hbm3-pim-buffer").tables()
    s = ChannelState(t)
    mac = t.cmd["MACPB"]
    same_bg, other_bg = (None, 0, 0, 0), (None, 0, 1, 0)
    for key in (same_bg, other_bg):
        s.issue(t.cmd["ACTPB"], key, -1000, row=0)
    s.issue(mac, same_bg, 0, row=0)
    assert s.earliest(mac, same_bg) == 4 * t.tpc      # tCCD_L in the bank group
    assert s.earliest(mac, other_bg) == 2 * t.tpc     # BL on the channel, tCCD_S in the stack ID
    assert api.device("hbm3-pim").mac_interval_cycles() == 7          # nCCDAB with the power limit
    assert api.device("hbm3-pim-bg").mac_interval_cycles() == 8       # nCCDSB


def test_channel_mask_bit_i_selects_channel_31_minus_i():
    assert Isr("MAC_ABK", mask=0x1).channels(32) == [31]
    assert Isr("MAC_ABK", mask=0x80000000).channels(32) == [0]
    assert mask_of([0, 5], 32) == (1 << 31) | (1 << 26)
    assert Isr("EOC").channels(32) == list(range(32))


def test_trace_format_round_trip_and_comments():
    isrs = parse_isr_lines(["# a comment", "", "AiM WR_GB 64 0 0xffffffff", "R MEM 3 5 17", "W CFR 1 0",
                            "AiM MAC_ABK 64 0xffffffff 12", "AiM EOC", "AiM WR_BIAS 0 0x1"])
    assert [i.op for i in isrs] == ["WR_GB", "R_MEM", "CFR", "MAC_ABK", "EOC"]
    assert isrs[1].channel == 3 and isrs[1].bank == 5 and isrs[1].row == 17
    assert parse_isr_lines([isrs[3].line(), "AiM EOC"])[0] == isrs[3]


@pytest.mark.parametrize("lines,message", [
    (["AiM MAC_ABK 64 0xff", "AiM EOC"], r"trace:1: AiM MAC_ABK takes 3 field\(s\)"),
    (["AiM MAC_ABC 64 0xff 1", "AiM EOC"], r"did you mean 'MAC_ABK'"),
    (["AiM WR_GB 64 0 0xff"], "does not end with 'AiM EOC'"),
    (["R MEM x 1 2", "AiM EOC"], "'x' is not a number"),
    (["Q MEM 1 1 2", "AiM EOC"], "cannot read 'Q MEM 1 1 2'"),
])
def test_bad_trace_lines_name_the_line(lines, message):
    with pytest.raises(TraceError, match=message):
        parse_isr_lines(lines)


def test_host_stream_issues_in_order_one_command_per_tick():
    from pimsim.pim.engine import HostChannel

    t = api.device("hbm-pim").tables()
    chan = HostChannel(t)
    key = (0, None, None)
    mac = t.cmd["MACAB"]
    end = chan.run([(t.cmd["WRGRF"], key, -1)] * 2 + [(mac, key, 7)] * 3)
    counts = dict(zip(t.names, chan.state.counts))
    assert counts["ACTAB"] == 1 and counts["MACAB"] == 3 and counts["WRGRF"] == 2
    assert end == chan.state.last + t.latency[mac]
