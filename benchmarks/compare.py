"""Speed of scenario simulation, and the placements against the published references.

Run: python benchmarks/compare.py [--quick]

Prints CPU seconds of (1) one Llama-2-70B decode step on CENT with 32 devices at
tile fidelity, (2) the default ``pimsim compare``, and (3) the throughput ratios of
tests/data/placement_references.yaml as pimsim reproduces them. Asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from pimsim.experiments.compare import DEFAULT, CompareJob, compare
from pimsim.experiments.pipeline import run_decode_step
from pimsim.experiments.scenario import ScenarioSpec, load_inputs, run_scenario

REF = yaml.safe_load((Path(__file__).parents[1] / "tests" / "data" / "placement_references.yaml").read_text())


def cent_step() -> float:
    spec = ScenarioSpec(model="llama2-70b", placement="cent", batch=80, prompt_tokens=512, output_tokens=3584)
    model, placement, system = load_inputs(spec)
    start = time.process_time()
    run_decode_step(model, placement, system, 80, 2048, "FP16")
    return time.process_time() - start


def default_compare() -> float:
    start = time.process_time()
    compare(CompareJob())
    return time.process_time() - start


def attacc_ratios() -> None:
    ref = REF["attacc"]
    runs = {}
    for name, (system, placement, batch, sets, published) in ref["cases"].items():
        r = run_scenario(ScenarioSpec(model=ref["model"], placement=placement, batch=batch,
                                      prompt_tokens=ref["prompt_tokens"], output_tokens=ref["output_tokens"],
                                      system=system, system_sets=tuple(sets), max_positions=4096))
        runs[name] = r
        print(f"  {name:<18} batch {r['batch']:>3}  pimsim {r['tokens_per_s']:8.1f} tok/s   AttAcc sim {published:8.1f}"
              f"   {r['energy_per_token_J'] * 1e3:7.1f} mJ/token")
    for num, den, published in ref["ratios"]:
        ratio = runs[num]["tokens_per_s"] / runs[den]["tokens_per_s"]
        print(f"  {num} / {den}: pimsim {ratio:.2f}x, AttAcc simulator {published:.2f}x, "
              f"error {100 * (ratio / published - 1):+.1f}%")


def cent_ratios() -> None:
    ref = REF["cent"]
    stages = {"llama2-7b": 32, "llama2-13b": 40, "llama2-70b": 80}
    for model, (devices, gpus, gpu_tps, published) in ref["cases"].items():
        r = run_scenario(ScenarioSpec(model=model, placement="cent", batch=stages[model],
                                      prompt_tokens=ref["prompt_tokens"], output_tokens=ref["output_tokens"],
                                      system="cent", system_sets=(f"devices.pim.count={devices}",)))
        ratio = r["tokens_per_s"] / gpu_tps
        print(f"  {model:<11} CENT {devices:>2} devices: {r['tokens_per_s']:7.1f} tok/s = {ratio:.2f}x the measured "
              f"{gpus} A100 ({gpu_tps} tok/s); paper {published:.2f}x, error {100 * (ratio / published - 1):+.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="speed figures only")
    args = parser.parse_args()
    print(f"Llama-2-70B decode step on CENT (32 devices, 80 queries), tile fidelity: {cent_step():.2f} CPU-s")
    print(f"default pimsim compare ({DEFAULT['model']}, {','.join(DEFAULT['placements'])}): "
          f"{default_compare():.1f} CPU-s")
    if not args.quick:
        print("AttAcc (GPT-3 175B, 2048 + 128 tokens):")
        attacc_ratios()
        print("CENT (Llama-2, 512 + 3584 tokens, decode):")
        cent_ratios()


if __name__ == "__main__":
    main()
