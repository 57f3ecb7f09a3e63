"""Placements against the published simulators (tests/data/placement_references.yaml).

AttAcc vs GPU-only throughput ratios within 20% of the AttAcc simulator's, CENT's
decode throughput over the authors' measured A100s within 25% of the paper's
ratios. Cases pimsim does not reproduce yet are marked xfail(strict) with the
reason, so they fail loudly once they start passing.
"""

from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from pimsim.experiments.scenario import ScenarioSpec, run_scenario

REF = yaml.safe_load((Path(__file__).parents[1] / "data" / "placement_references.yaml").read_text())
ATTACC, CENT = REF["attacc"], REF["cent"]


@lru_cache(maxsize=None)
def attacc_case(name: str) -> dict:
    system, placement, batch, sets, _ = ATTACC["cases"][name]
    return run_scenario(ScenarioSpec(model=ATTACC["model"], placement=placement, batch=batch,
                                     prompt_tokens=ATTACC["prompt_tokens"], output_tokens=ATTACC["output_tokens"],
                                     system=system, system_sets=tuple(sets), max_positions=4096))


KNOWN_GAPS: dict = {}          # (case ...) -> reason, for cases pimsim does not reproduce yet (strict xfail)


def _cases(rows, key):
    out = []
    for row in rows:
        gap = KNOWN_GAPS.get(key(row))
        marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
        out.append(pytest.param(*row, marks=marks, id="-".join(str(v) for v in row)))
    return out


@pytest.mark.parametrize("num, den, published", _cases(ATTACC["ratios"], lambda r: (r[0], r[1])))
def test_attacc_over_gpu_throughput_ratio(num, den, published):
    ratio = attacc_case(num)["tokens_per_s"] / attacc_case(den)["tokens_per_s"]
    assert ratio == pytest.approx(published, rel=ATTACC["tolerance"])


def test_attacc_largest_batches_are_the_simulators():
    """--batch max: GPT-3 175B + KV of 2,176 tokens fits 32 sequences on 8 x 80 GiB (the simulator, which
    does not count the embedding table, says 33) and 66 with the KV cache in AttAcc's 640 GiB."""
    assert attacc_case("dgx_bmax")["batch"] == 32
    assert attacc_case("attacc_bmax")["batch"] == 66


def test_dgx_gpu_only_matches_the_attacc_simulator_within_5_percent():
    assert attacc_case("dgx_b16")["tokens_per_s"] == pytest.approx(ATTACC["cases"]["dgx_b16"][4], rel=0.05)


@pytest.mark.parametrize("model", _cases([(m,) for m in sorted(CENT["cases"])], lambda r: (r[0],)))
def test_cent_over_measured_gpu_decode_throughput(model):
    devices, _, gpu_tokens_s, published = CENT["cases"][model]
    stages = {"llama2-7b": 32, "llama2-13b": 40, "llama2-70b": 80}[model]
    r = run_scenario(ScenarioSpec(model=model, placement="cent", batch=stages, prompt_tokens=CENT["prompt_tokens"],
                                  output_tokens=CENT["output_tokens"], system="cent",
                                  system_sets=(f"devices.pim.count={devices}",)))
    ratio = r["tokens_per_s"] / gpu_tokens_s
    assert ratio == pytest.approx(published, rel=CENT["tolerance"])


def test_attacc_lead_over_gpu_grows_with_the_context():
    """AttAcc's paper trend: the longer the context, the more the KV cache dominates and the more PIM helps."""
    def ratio(context):
        runs = {}
        for placement, system in (("gpu", "dgx-a100-hbm3"), ("attacc", "dgx-attacc")):
            runs[placement] = run_scenario(ScenarioSpec(model="gpt3-175b", placement=placement, batch=8,
                                                        prompt_tokens=context - 64, output_tokens=64, system=system,
                                                        max_positions=8192, decode_samples=2))["tokens_per_s"]
        return runs["attacc"] / runs["gpu"]

    short, long = ratio(1024), ratio(4096)
    assert 1.0 < short < long
