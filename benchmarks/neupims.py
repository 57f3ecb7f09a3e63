"""The NeuPIMs placements against the NeuPIMs simulator: per-layer cycles, ratios, and where the time goes.

Run: python benchmarks/neupims.py

One decode step of GPT3-7B, tensor parallel 4 (one shard), 512 requests with ShareGPT-like context
lengths (pimsim.placement.neupims_batch.sharegpt_lengths, seed 0), 1 GHz. A layer's cost is the
difference between 4 and 2 layers, halved (the interleaved pipeline's steady state, NeuPIMs' stages
C + D). Prints the validation table of the README (NeuPIMs section), then the operators of one
layer without interleaving beside the simulator's. Asserts nothing.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import yaml

from pimsim.experiments.pipeline import run_pass
from pimsim.experiments.scenario import ScenarioSpec, load_inputs
from pimsim.placement.neupims_batch import sharegpt_lengths

REF = yaml.safe_load((Path(__file__).parents[1] / "tests" / "data" / "placement_references.yaml").read_text())["neupims"]
VARIANTS = {
    "neupim": ("NeuPIMs, interleaving on (steady state)", "neupim", "neupims", ()),
    "neupim_no_interleave": ("NeuPIMs, interleaving off", "neupim", "neupims", (("interleave", False),)),
    "naive": ("naive NPU+PIM", "npu+pim", "neupims-naive", ()),
    "npu_only": ("NPU-only", "npu", "neupims", ()),
}
# the NeuPIMs simulator's interleaving-off run (main f299af3), per operator (its log's "Total compute time")
SIMULATOR_OFF = {"attn.norm": 6075, "attn.qkv": 81191, "attn.score": 127081, "attn.context": 139157,
                 "attn.o_proj": 24505, "mlp.norm": 10257, "mlp.up": 102274, "mlp.act": 6354, "mlp.down": 102261,
                 "residual adds": 8692 + 11380}


def run(placement, system, options, layers, lengths):
    spec = ScenarioSpec(model="gpt3-7b", placement=placement, system=system, placement_options=(("tp", 4), *options),
                        system_sets=("devices.npu.count=1", "devices.pim.count=1"))
    model, p, system_spec = load_inputs(spec)
    plan = p.plan_lengths(dataclasses.replace(model, num_hidden_layers=layers), lengths, "FP16", system_spec)
    return run_pass(plan, system_spec, "decode", max(lengths))


def main() -> None:
    lengths = sharegpt_lengths(512, seed=0)
    print(f"512 requests, context mean {sum(lengths) / 512:.1f}, max {max(lengths)} tokens\n")
    start = time.process_time()
    cycles = {}
    for key, (_, placement, system, options) in VARIANTS.items():
        two, four = (run(placement, system, options, n, lengths) for n in (2, 4))
        cycles[key] = (four.time_ps - two.time_ps) / 2 / 1000
    print("| variant | NeuPIMs simulator (cycles) | pimsim (cycles) | error | ratio to NeuPIMs on: simulator | pimsim | "
          "error |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base_ref, base = REF["cycles"]["neupim"], cycles["neupim"]
    for key, (label, *_rest) in VARIANTS.items():
        ref, ours = REF["cycles"][key], cycles[key]
        r_ref, r_ours = ref / base_ref, ours / base
        print(f"| {label} | {ref:,} | {ours:,.0f} | {100 * (ours / ref - 1):+.1f}% | {r_ref:.2f} | {r_ours:.2f} | "
              f"{100 * (r_ours / r_ref - 1):+.1f}% |")
    print(f"\n({time.process_time() - start:.1f} CPU-s)\n")
    step = run("neupim", "neupims", (("interleave", False),), 2, lengths)
    spans: dict = {}
    for e in step.run.events:
        if e.layer != 1 or "->" in e.device or e.kind in ("send", "allreduce", "kv_write"):
            continue
        name = e.name.split(".ch")[0]
        lo, hi = spans.get(name, (e.start_ps, e.end_ps))
        spans[name] = (min(lo, e.start_ps), max(hi, e.end_ps))
    print("| operator (one layer, interleaving off) | NeuPIMs simulator (cycles) | pimsim (cycles) |")
    print("|---|---:|---:|")
    for name, ref in SIMULATOR_OFF.items():
        lo, hi = spans.get(name, (0, 0))
        ours = f"{(hi - lo) / 1000:,.0f}" if hi else "folded into the norms"
        print(f"| {name} | {ref:,} | {ours} |")


if __name__ == "__main__":
    main()
