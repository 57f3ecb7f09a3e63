"""Fidelity: the command-level DRAM model against Ramulator 2.1 (tests/data/ramulator2_hbm.yaml).

Every reference case is rebuilt with pimsim.dram.microbench and must finish
within 5% of Ramulator's time, with row-buffer outcomes and refresh counts
within 5% as well.
"""

from pathlib import Path

import pytest
import yaml

from pimsim.dram import microbench as mb
from pimsim.dram.memory import MemorySystem
from pimsim.dram.spec import load_dram

REF = yaml.safe_load((Path(__file__).parents[1] / "data" / "ramulator2_hbm.yaml").read_text())
DEVICE = {"HBM2": "hbm2-2000", "HBM3": "hbm3-6400"}


def _id(ref):
    return f"{ref['standard']}-{ref['case']}-{ref['addr_mapper']}-{ref['refresh']}"


@pytest.mark.parametrize("ref", REF["results"], ids=_id)
def test_matches_ramulator2_within_5_percent(ref):
    mapping = ref["addr_mapper"] if ref["addr_mapper"] != "PassThroughAddrMapper" else "RoBaRaCoCh"
    refresh = "all-bank" if ref["refresh"] == "AllBank" else "none"
    spec = load_dram(DEVICE[ref["standard"]], sets=[f"controller.refresh={refresh}", f"controller.mapping={mapping}"])
    result = MemorySystem(spec).replay(mb.ramulator_case(ref["case"], spec))
    end_ns = result.time_ps / 1000
    assert result.requests == ref["requests"]
    assert result.reads == ref["reads"] and result.writes == ref["writes"]
    assert end_ns == pytest.approx(ref["end_ns"], rel=0.05)
    served = ref["row_hits"] + ref["row_misses"] + ref["row_conflicts"]
    for key in ("row_hits", "row_misses", "row_conflicts"):
        assert abs(getattr(result, key) - ref[key]) <= 0.05 * served
    assert abs(result.refreshes - ref["refresh_cmds"]) <= max(2, 0.05 * ref["refresh_cmds"])


def test_reference_timings_match_presets():
    """The presets carry exactly the timing tables the reference was produced with."""
    names = {"CL": "nCL", "CWL": "nCWL", "BL": "nBL", "tRCD_RD": "nRCDRD", "tRCD_WR": "nRCDWR", "tRP": "nRP",
             "tRAS": "nRAS", "tRC": "nRC", "tWR": "nWR", "tCCD_S": "nCCDS", "tCCD_L": "nCCDL", "tRRD_S": "nRRDS",
             "tRRD_L": "nRRDL", "tWTR_S": "nWTRS", "tWTR_L": "nWTRL", "tFAW": "nFAW", "tRFC": "nRFC",
             "tREFI": "nREFI", "tCCD_R": "nCCDR", "tRTW": "nRTW", "tPPD": "nPPD"}
    for std, device in DEVICE.items():
        ref = REF["standards"][std]["timings_CK"]
        spec = load_dram(device)
        for ours, theirs in names.items():
            if ours in spec.cycles:
                assert spec.cycles[ours] == ref[theirs], (std, ours)
        assert spec.cycles["tRTP"] == ref.get("nRTP", ref.get("nRTPL"))
        assert spec.clock.tCK == ref["tCK_ps"]
        assert spec.channel_bytes == REF["standards"][std]["channel_bytes"]
