"""Reproduce the Ramulator 2.1 reference cases and print the README's fidelity table.

Run: python benchmarks/dram_fidelity.py   (about two minutes)
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pimsim.dram.memory import MemorySystem
from pimsim.dram.microbench import ramulator_case
from pimsim.dram.spec import load_dram

REF = Path(__file__).parents[1] / "tests" / "data" / "ramulator2_hbm.yaml"
DEVICE = {"HBM2": "hbm2-2000", "HBM3": "hbm3-6400"}


def main() -> None:
    ref = yaml.safe_load(REF.read_text())
    print("| standard | case | mapping | refresh | Ramulator 2.1 (ns) | pimsim (ns) | error | row hits R2 / pimsim |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    worst = 0.0
    for case in ref["results"]:
        mapping = "RoBaRaCoCh" if case["addr_mapper"] == "PassThroughAddrMapper" else case["addr_mapper"]
        refresh = "all-bank" if case["refresh"] == "AllBank" else "none"
        spec = load_dram(DEVICE[case["standard"]], sets=[f"controller.refresh={refresh}",
                                                         f"controller.mapping={mapping}"])
        result = MemorySystem(spec).replay(ramulator_case(case["case"], spec))
        ns = result.time_ps / 1000
        err = (ns - case["end_ns"]) / case["end_ns"]
        worst = max(worst, abs(err))
        shown = "direct" if case["addr_mapper"] == "PassThroughAddrMapper" else mapping
        print(f"| {case['standard']} | {case['case']} | {shown} | {refresh} | {case['end_ns']:,.1f} | {ns:,.1f} "
              f"| {100 * err:+.2f}% | {case['row_hits']:,} / {result.row_hits:,} |", flush=True)
    print(f"\nworst |error|: {100 * worst:.3f}%")


if __name__ == "__main__":
    main()
