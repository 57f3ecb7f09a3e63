"""``pimsim sweep`` end to end in this process (--serial): the store, resuming, failures, determinism."""

import h5py
import pytest

from pimsim import __version__
from pimsim.results.record import same_metrics
from pimsim.results.store import journal_dir, load, open_store

ECHO = """
    kind: test-echo
    name: echo
    seed: 3
    base: {context: 1000}
    grid: {placement: [gpu, pim], batch: [1, 2, 4]}
"""


def records(path):
    return load(path)[1]


def test_sweep_stores_every_point_with_config_presets_version_and_seed(run_cli, sweep_file, tmp_path, expected_tps):
    out = tmp_path / "r.h5"
    res = run_cli("sweep", sweep_file(ECHO), "-o", out, "--serial")
    assert res.exit_code == 0, res.output
    assert "6 points, 0 finished before, 6 run now" in res.stdout
    recs = records(out)
    assert len(recs) == 6 and all(r.ok for r in recs.values())
    by_params = {(r.params["placement"], r.params["batch"]): r for r in recs.values()}
    assert by_params["pim", 4].metrics["tokens_per_s"] == expected_tps("pim", 4, 1000, seed=3)
    with h5py.File(out) as f:
        g = f[f"points/{by_params['pim', 4].key}"]
        assert g.attrs["seed"] == 3 and g.attrs["pimsim_version"] == __version__
        assert '"placement": "pim"' in g.attrs["config"] and '"echo"' in g.attrs["resolved"]
        assert g["metrics"].attrs["tokens_per_s"] == expected_tps("pim", 4, 1000, seed=3)
        assert f["units"].attrs["tokens_per_s"] == "tokens/s"
        assert f.attrs["kind"] == "test-echo"
    assert not journal_dir(out).exists()                      # merged and removed on a clean finish
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_rerun_runs_nothing_and_an_extended_grid_runs_only_the_new_points(run_cli, sweep_file, tmp_path):
    out = tmp_path / "r.h5"
    assert run_cli("sweep", sweep_file(ECHO), "-o", out, "--serial").exit_code == 0
    first = records(out)
    res = run_cli("sweep", sweep_file(ECHO), "-o", out, "--serial")
    assert "6 finished before, nothing left to run" in res.stdout
    assert records(out) == first                       # not one record rewritten
    res = run_cli("sweep", sweep_file(ECHO.replace("[1, 2, 4]", "[1, 2, 4, 8]")), "-o", out, "--serial")
    assert "8 points, 6 finished before, 2 run now" in res.stdout
    after = records(out)
    assert len(after) == 8 and all(after[k] == first[k] for k in first)


def test_failed_points_are_recorded_the_sweep_goes_on_and_a_rerun_retries_them(run_cli, sweep_file, tmp_path,
                                                                              error_line):
    text = "kind: test-echo\nzip: {batch: [1, 2, 3], fail: [false, true, false]}\n"
    out = tmp_path / "r.h5"
    res = run_cli("sweep", sweep_file(text), "-o", out, "--serial")
    line = error_line(res)
    assert "1 of 3 points failed (first: point asked to fail (batch 2))" in line
    recs = records(out)
    assert sorted(r.status for r in recs.values()) == ["failed", "ok", "ok"]
    failed = next(r for r in recs.values() if not r.ok)
    res = run_cli("sweep", sweep_file(text), "-o", out, "--serial")
    assert "3 points, 2 finished before, 1 run now" in res.stdout     # only the failed one again
    assert records(out)[failed.key].run_id != failed.run_id


def test_invalid_points_are_recorded_without_running(run_cli, sweep_file, tmp_path, error_line):
    out = tmp_path / "r.h5"
    res = run_cli("sweep", sweep_file("kind: test-echo\nzip: {batch: [1, 2], invalid: [false, true]}\n"),
                  "-o", out, "--serial")
    assert "this point is invalid on purpose" in error_line(res)
    recs = records(out)
    bad = next(r for r in recs.values() if not r.ok)
    assert bad.params == {"batch": 2, "invalid": True} and bad.elapsed_s == 0.0


def test_same_config_gives_bit_identical_metrics(run_cli, sweep_file, tmp_path):
    text = """
        kind: trace-summary
        seed: 5
        base: {model: mixtral-8x7b, scenario: {phase: decode, output_tokens: 1, routing: {policy: skewed}}}
        grid: {scenario.batch: [3, 17], scenario.context_tokens: [333, 4000]}
    """
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for out in (a, b):
        assert run_cli("sweep", sweep_file(text), "-o", out, "--serial").exit_code == 0
    ra, rb = records(a), records(b)
    assert ra.keys() == rb.keys() and len(ra) == 4
    assert all(same_metrics(ra[k].metrics, rb[k].metrics) for k in ra)
    assert all(type(v) is float for r in ra.values() for k, v in r.metrics.items() if k == "flops")


def test_a_results_file_of_another_kind_is_refused_and_left_alone(run_cli, sweep_file, tmp_path, error_line):
    out = tmp_path / "r.h5"
    assert run_cli("sweep", sweep_file(ECHO), "-o", out, "--serial").exit_code == 0
    before = out.read_bytes()
    res = run_cli("sweep", sweep_file("kind: trace-summary\n", name="t.yaml"), "-o", out, "--serial")
    assert "holds a 'test-echo' sweep, not 'trace-summary'" in error_line(res)
    assert out.read_bytes() == before


def test_two_sweeps_cannot_write_one_file_at_once(run_cli, sweep_file, tmp_path, error_line):
    out = tmp_path / "r.h5"
    from pimsim.results.h5file import Header

    with open_store(out, Header("x", "test-echo", {}, {})):
        res = run_cli("sweep", sweep_file(ECHO), "-o", out, "--serial")
        assert "another sweep is writing this results file" in error_line(res)


def test_dry_run_counts_without_running(run_cli, sweep_file, tmp_path):
    out = tmp_path / "r.h5"
    res = run_cli("sweep", sweep_file(ECHO), "-o", out, "--dry-run")
    assert res.exit_code == 0 and "6 points over placement, batch" in res.stdout and "6 to run" in res.stdout
    assert not out.exists() and not journal_dir(out).exists()


def test_progress_bar_shows_done_failed_and_eta(sweep_file, tmp_path):
    import io

    from pimsim.experiments.progress import Progress

    buf = io.StringIO()
    with Progress("s", total=10, done_before=4, enabled=True, file=buf) as bar:
        bar.advance(True)
        bar.advance(False)
    text = buf.getvalue()
    assert "6/10 done" in text and "failed=1" in text and "<" in text     # elapsed<remaining


@pytest.mark.parametrize("args, fragment", [
    (["--serial", "--scheduler", "tcp://127.0.0.1:1"], "cannot be combined with --scheduler"),
    (["--workers", "0"], "--workers must be at least 1"),
])
def test_bad_options_are_one_line(run_cli, sweep_file, tmp_path, error_line, args, fragment):
    res = run_cli("sweep", sweep_file(ECHO), "-o", tmp_path / "r.h5", *args)
    assert fragment in error_line(res)
    assert not (tmp_path / "r.h5").exists()
