"""A 200-point sweep (4 models x 5 batch sizes x 10 contexts) on a local Dask cluster, killed with
SIGKILL half-way, then resumed by running the same command: no point run twice, none lost, nothing
corrupt, and the metrics bit-identical to an uninterrupted run.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pimsim.core.errors import ResultsError
from pimsim.results.record import same_metrics
from pimsim.results.store import journal_dir, load

SWEEP = """
    kind: trace-summary
    name: kill-resume
    base: {scenario: {phase: decode, output_tokens: 2}}
    grid:
      model: [llama2-7b, llama2-70b, mixtral-8x7b, llama3-8b]
      scenario.batch: [1, 4, 16, 64, 256]
      scenario.context_tokens: [128, 256, 384, 512, 640, 768, 896, 1024, 1536, 2048]
"""
POINTS = 200


def sweep_command(sweep, out):
    return [sys.executable, "-m", "pimsim", "sweep", str(sweep), "-o", str(out), "--workers", "2",
            "--checkpoint-every", "0.3", "--no-progress"]


def finished(out):
    """Points stored so far (file and journal), read the way any reader would, without a lock."""
    try:
        return load(out)[1]
    except ResultsError:
        return {}          # nothing written yet


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    d = tmp_path_factory.mktemp("kill")
    sweep, out = d / "sweep.yaml", d / "results.h5"
    sweep.write_text(textwrap.dedent(SWEEP))
    proc = subprocess.Popen(sweep_command(sweep, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(finished(out)) < POINTS * 0.4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)       # the driver, the scheduler and every worker, at once
        first_output = proc.communicate()
    at_kill = finished(out)                        # must read: nothing corrupt
    resumed = subprocess.run(sweep_command(sweep, out), capture_output=True, text=True, timeout=300)
    return {"out": out, "sweep": sweep, "at_kill": at_kill, "first_output": first_output,
            "resumed": resumed, "final": load(out)[1], "dir": d}


def test_the_kill_landed_half_way(killed_and_resumed):
    at_kill = killed_and_resumed["at_kill"]
    assert POINTS * 0.4 <= len(at_kill) < POINTS, (len(at_kill), killed_and_resumed["first_output"])
    assert [r.error for r in at_kill.values() if not r.ok] == []


def test_resume_runs_exactly_the_missing_points(killed_and_resumed):
    at_kill, final = killed_and_resumed["at_kill"], killed_and_resumed["final"]
    res = killed_and_resumed["resumed"]
    assert res.returncode == 0, res.stderr
    assert f"{POINTS} points, {len(at_kill)} finished before, {POINTS - len(at_kill)} run now" in res.stdout
    assert len(final) == POINTS and all(r.ok for r in final.values())          # none lost
    first_run = {r.run_id for r in at_kill.values()}
    assert len(first_run) == 1
    for key, rec in at_kill.items():                                           # none run twice
        assert final[key].run_id in first_run and final[key] == rec
    second_run = {r.run_id for k, r in final.items() if k not in at_kill}
    assert len(second_run) == 1 and not (second_run & first_run)


def test_resumed_metrics_equal_an_uninterrupted_run(killed_and_resumed):
    final = killed_and_resumed["final"]
    ref_out = killed_and_resumed["dir"] / "reference.h5"
    res = subprocess.run([sys.executable, "-m", "pimsim", "sweep", str(killed_and_resumed["sweep"]), "-o",
                          str(ref_out), "--serial"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    ref = load(ref_out)[1]
    assert ref.keys() == final.keys()
    assert all(same_metrics(final[k].metrics, ref[k].metrics) for k in ref)


def test_nothing_is_left_behind(killed_and_resumed):
    d, out = killed_and_resumed["dir"], killed_and_resumed["out"]
    assert not journal_dir(out).exists()
    assert [p.name for p in d.iterdir() if p.name.endswith(".tmp")] == []


def test_ctrl_c_stops_the_sweep_with_one_line_and_keeps_every_finished_point(tmp_path):
    """Ctrl-C in a terminal sends SIGINT to the whole process group: driver and Dask workers alike."""
    sweep, out = tmp_path / "sweep.yaml", tmp_path / "results.h5"
    sweep.write_text(textwrap.dedent(SWEEP))

    def own_group_with_default_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgrp()
    proc = subprocess.Popen(sweep_command(sweep, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=own_group_with_default_sigint)
    try:
        deadline = time.monotonic() + 120
        while len(finished(out)) < 20 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, err
    n = int(lines[0].split("interrupted after ")[1].split(" ")[0])
    assert lines[0] == (f"error: interrupted after {n} of {POINTS} points; every finished point is kept in "
                        f"{out}: run the same command to resume")
    assert 20 <= n < POINTS
    stored = load(out)[1]                  # merged into the file on the way out
    assert len(stored) == n and all(r.ok for r in stored.values()) and not journal_dir(out).exists()
