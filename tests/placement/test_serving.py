"""Serving a request mix: the scheduler against hand-worked timelines, the mix files, the command line."""

import json

import numpy as np
import pytest

from pimsim.core.errors import ConfigError
from pimsim.experiments.serving import PassCosts, RequestMix, batch_grid, load_mix, schedule, serve

DECODE_S, PREFILL_S = 0.01, 0.5


def flat_costs(decode=DECODE_S, prefill=PREFILL_S) -> PassCosts:
    """Every decode iteration takes ``decode`` seconds and every admission ``prefill``, whatever the sizes."""
    return PassCosts(sizes=(1, 2), contexts=(1, 10_000), decode=((decode, decode), (decode, decode)),
                     prompts=(1, 10_000), prefill=((prefill, prefill), (prefill, prefill)))


def mix(prompts, outputs, arrivals=None) -> RequestMix:
    arrivals = arrivals or [0.0] * len(prompts)
    return RequestMix(tuple(prompts), tuple(outputs), tuple(arrivals), "test")


def test_one_batch_that_holds_everything_matches_the_hand_timeline():
    # 4 requests arrive at 0 and fit at once: one admission pass, then 9 decode iterations
    r = serve(mix([100] * 4, [10] * 4), batch=8, costs=flat_costs())
    assert r["ttft_p50_s"] == pytest.approx(PREFILL_S)
    assert r["latency_p99_s"] == pytest.approx(PREFILL_S + 9 * DECODE_S)
    assert r["tpot_p50_s"] == pytest.approx(DECODE_S)
    assert r["mix_passes"] == 10
    assert r["mix_tokens_per_s"] * r["mix_makespan_s"] == pytest.approx(40)       # every token counted once


def test_batch_one_serves_requests_one_after_another():
    n, out = 5, 4
    r = serve(mix([50] * n, [out] * n), batch=1, costs=flat_costs())
    each = PREFILL_S + (out - 1) * DECODE_S
    latencies = np.array([(k + 1) * each for k in range(n)])
    assert r["latency_p50_s"] == pytest.approx(np.percentile(latencies, 50))
    assert r["latency_p99_s"] == pytest.approx(np.percentile(latencies, 99))
    assert r["ttft_p50_s"] == pytest.approx(np.percentile(latencies - each + PREFILL_S, 50))
    assert r["mix_makespan_s"] == pytest.approx(n * each)


def test_a_new_request_is_admitted_beside_running_ones_and_delays_them_by_its_prefill():
    # request 0 alone at t=0 (iterations end at 0.50, 0.51, ...); request 1 arrives at 0.605 s
    m = mix([10, 10], [21, 3], [0.0, 0.605])
    first, finish, passes = schedule(m, batch=2, costs=flat_costs())
    admitted_at = 0.61                               # the first pass boundary after its arrival
    assert first[0] == pytest.approx(PREFILL_S)
    assert first[1] == pytest.approx(admitted_at + PREFILL_S + DECODE_S)    # the pass also decodes request 0
    assert finish[1] == pytest.approx(first[1] + 2 * DECODE_S)
    # request 0: 20 more tokens, one of them from the pass that also prefilled request 1
    assert finish[0] == pytest.approx(PREFILL_S + 20 * DECODE_S + PREFILL_S)
    assert passes == 1 + 20


def test_idle_until_the_next_arrival_and_no_queueing_when_arrivals_are_sparse():
    m = mix([64] * 3, [5] * 3, [0.0, 10.0, 20.0])
    r = serve(m, batch=4, costs=flat_costs())
    assert r["ttft_p99_s"] == pytest.approx(PREFILL_S)
    assert r["latency_p50_s"] == pytest.approx(PREFILL_S + 4 * DECODE_S)
    assert r["mix_makespan_s"] == pytest.approx(20.0 + PREFILL_S + 4 * DECODE_S)


def test_decode_cost_interpolates_between_simulated_sizes_and_contexts():
    costs = PassCosts(sizes=(1, 4), contexts=(100, 300), decode=((1.0, 3.0), (2.0, 6.0)),
                      prompts=(10, 20), prefill=((1.0, 2.0), (3.0, 4.0)))
    assert costs.decode_s(1, 99) == pytest.approx(1.0)             # mean context 100
    assert costs.decode_s(4, 4 * 299) == pytest.approx(6.0)
    assert costs.decode_s(2, 2 * 199) == pytest.approx(2.0 + (4.0 - 2.0) / 3)   # n = 2 of 1..4, middle context
    assert costs.prefill_s(4, 4 * 15) == pytest.approx(3.5)
    assert costs.decode_s(0, 0) == 0.0


def test_batch_grid():
    assert batch_grid(1) == (1,)
    assert batch_grid(64) == (1, 8, 16, 32, 64)
    assert batch_grid(6) == (1, 2, 3, 6)


def test_poisson_arrivals_have_the_asked_rate(tmp_path):
    f = tmp_path / "mix.csv"
    f.write_text("prompt_tokens,output_tokens\n" + "128,16\n" * 4000)
    m = load_mix(f, rate=50.0, seed=3)
    gaps = np.diff(m.arrivals_s)
    assert m.arrivals_s[0] == 0.0 and (gaps >= 0).all()
    assert gaps.mean() == pytest.approx(1 / 50.0, rel=0.05)
    assert load_mix(f, rate=50.0, seed=3).arrivals_s == m.arrivals_s
    assert load_mix(f, rate=50.0, seed=4).arrivals_s != m.arrivals_s


def test_mix_from_a_scenario_file_keeps_its_classes_and_batch():
    m = load_mix("workloads/scenarios/serving-mix.yaml")
    assert len(m) == 32 and m.batch == 16
    assert sorted(set(zip(m.prompts, m.outputs))) == [(256, 256), (2048, 64)]
    assert m.longest == 2048 + 64


@pytest.mark.parametrize("text, fragment", [
    ("prompt,output\n1,2\n", "needs a header with prompt_tokens and output_tokens"),
    ("prompt_tokens,output_tokens\n12,x\n", "mix.csv:2: not a number"),
    ("prompt_tokens,output_tokens\n12,0\n", "mix.csv:2: prompt and output tokens must be >= 1"),
    ("prompt_tokens,output_tokens,arrival_s\n12,3,0.5\n12,3,\n", "arrival_s is given for some requests only"),
])
def test_bad_csv_mixes_are_one_error_naming_the_file_and_line(tmp_path, text, fragment):
    f = tmp_path / "mix.csv"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_mix(f)
    assert fragment in err.value.one_line()


def test_a_missing_mix_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_mix(tmp_path / "gone.csv")
    assert "gone.csv: no such request-mix file" in err.value.one_line()


def test_a_scenario_without_requests_is_refused():
    with pytest.raises(ConfigError, match="no request mix"):
        load_mix("workloads/scenarios/chat-2048.yaml")


def test_compare_serves_a_mix_and_reports_percentiles(tmp_path, run_cli):
    f = tmp_path / "chat.csv"
    rows = [(64 + 37 * (i % 7), 8 + 3 * (i % 5)) for i in range(24)]
    f.write_text("prompt_tokens,output_tokens\n" + "".join(f"{p},{o}\n" for p, o in rows))
    res = run_cli("compare", "--model", "llama2-7b", "--placements", "gpu,attacc", "--batch", "8",
                  "--requests", f, "--rate", "20", "--json", "-o", tmp_path)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for r in out:
        assert r["mix_requests"] == 24 and r["batch"] == 8
        assert 0 < r["ttft_p50_s"] <= r["ttft_p90_s"] <= r["ttft_p99_s"]
        assert r["ttft_p99_s"] < r["latency_p99_s"]
        assert r["mix_fit_error"] < 0.10          # the interpolation holds on the held-out passes
        assert r["mix_tokens_per_s"] * r["mix_makespan_s"] == pytest.approx(sum(o for _, o in rows))
    gpu, attacc = out
    assert attacc["tpot_p50_s"] < gpu["tpot_p50_s"]      # attention on PIM: shorter decode iterations
    assert {p.suffix for p in tmp_path.iterdir()} >= {".csv", ".h5", ".png"}


def test_rate_without_a_mix_is_an_error(run_cli):
    res = run_cli("compare", "--rate", "3", "-o", "-")
    assert res.exit_code == 1 and "--rate applies to a request mix" in res.output
