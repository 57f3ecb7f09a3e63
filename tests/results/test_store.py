"""The result store: exact round trips, the journal, crashes at every step, full disks and refused writes."""

import errno
import math
import os
import resource
import subprocess
import sys
import textwrap

import h5py
import pytest

from pimsim.core.errors import ResultsError
from pimsim.results import store as store_mod
from pimsim.results.h5file import Header, read_results, read_status, write_results
from pimsim.results.record import same_metrics
from pimsim.results.store import journal_dir, load, open_store

from .conftest import HEADER, make_record


def test_round_trip_is_exact_for_every_value_type(tmp_path):
    metrics = {"big": 2 ** 62 + 1, "neg": -7, "tenth": 0.1, "tiny": 5e-324, "nan": math.nan, "inf": -math.inf,
               "flag": True, "text": "ünïcode", "empty": ""}
    rec = make_record("abc123", {"a.b": [1, 2], "c": {"d": None}}, metrics, seed=2 ** 40)
    write_results(tmp_path / "r.h5", HEADER, [rec])
    header, records = read_results(tmp_path / "r.h5")
    back = records["abc123"]
    assert same_metrics(back.metrics, metrics)
    assert {k: type(v) for k, v in back.metrics.items()} == {k: type(v) for k, v in metrics.items()}
    assert back.params == rec.params and back.resolved == rec.resolved and back.seed == 2 ** 40
    assert header == HEADER


def test_writing_adds_and_replaces_points_without_rewriting_others(tmp_path):
    path = tmp_path / "r.h5"
    write_results(path, HEADER, [make_record("k1", {"x": 1}, {}, "failed", "boom"), make_record("k2", {"x": 2},
                                                                                                 {"m": 1.5})])
    write_results(path, HEADER, [make_record("k1", {"x": 1}, {"m": 9.0}, run_id="r2"),
                                 make_record("k3", {"x": 3}, {"m": 3.0})])
    _, records = read_results(path)
    assert sorted(records) == ["k1", "k2", "k3"]
    assert records["k1"].ok and records["k1"].metrics == {"m": 9.0} and records["k2"].metrics == {"m": 1.5}
    assert read_status(path)[1] == {"k1": ("ok", ""), "k2": ("ok", ""), "k3": ("ok", "")}


def crash(store):
    """What the kernel does to a killed writer: the lock is released, nothing else happens."""
    os.close(store._lock_fd)


def test_points_in_the_journal_survive_a_crash_before_the_first_checkpoint(tmp_path):
    path = tmp_path / "r.h5"
    store = store_mod._open(path, HEADER, checkpoint_every_s=1e9)
    store.add([make_record("k1", {"x": 1}, {"m": 1.0})])
    store.add([make_record("k2", {"x": 2}, {"m": 2.0})])
    crash(store)
    assert not path.exists()
    header, records = load(path)                       # a reader sees the journal
    assert header.name == HEADER.name and sorted(records) == ["k1", "k2"]
    with open_store(path, HEADER) as reopened:         # the next run merges it
        assert reopened.done("k1") and reopened.done("k2") and not reopened.done("k3")
    assert sorted(read_results(path)[1]) == ["k1", "k2"] and not journal_dir(path).exists()


def test_a_crash_between_the_rename_and_the_journal_cleanup_loses_and_duplicates_nothing(tmp_path, monkeypatch):
    path = tmp_path / "r.h5"
    store = store_mod._open(path, HEADER, checkpoint_every_s=1e9)
    store.add([make_record("k1", {"x": 1}, {"m": 1.0}), make_record("k2", {"x": 2}, {"m": 2.0})])

    def die(*_):
        raise KeyboardInterrupt
    monkeypatch.setattr(store_mod.os, "unlink", die)
    with pytest.raises(KeyboardInterrupt):
        store.checkpoint()
    monkeypatch.undo()
    crash(store)
    assert sorted(read_results(path)[1]) == ["k1", "k2"]          # the file was renamed into place
    assert sorted(load(path)[1]) == ["k1", "k2"]                   # journal still there: same points, once
    with open_store(path, HEADER):
        pass
    assert sorted(read_results(path)[1]) == ["k1", "k2"] and not journal_dir(path).exists()


def test_a_damaged_journal_file_counts_as_not_run(tmp_path):
    path = tmp_path / "r.h5"
    store = store_mod._open(path, HEADER, checkpoint_every_s=1e9)
    store.add([make_record("k1", {"x": 1}, {"m": 1.0})])
    store.add([make_record("k2", {"x": 2}, {"m": 2.0})])
    crash(store)
    part = sorted(p for p in journal_dir(path).glob("*.json") if p.name != "header.json")[-1]
    part.write_text(part.read_text()[:40])
    assert sorted(load(path)[1]) == ["k1"]


def test_stale_temporaries_of_a_dead_writer_are_removed_by_the_next_one(tmp_path):
    path = tmp_path / "r.h5"
    write_results(path, HEADER, [make_record("k1", {"x": 1}, {"m": 1.0})])
    stale = [tmp_path / ".r.h5.abc123.tmp", journal_dir(path) / ".0001.json.xyz.tmp"]
    journal_dir(path).mkdir()
    for p in stale:
        p.write_bytes(b"half")
    load(path)                                                   # readers leave them alone
    assert all(p.exists() for p in stale)
    with open_store(path, HEADER):
        pass
    assert not any(p.exists() for p in stale)


class FullDisk:
    """A file object whose writes fail as on a full disk."""

    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def break_writes(monkeypatch, failure: str) -> str:
    if failure == "disk full":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k)))
        return "No space left on device"

    def refuse(*_):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(os, "replace", refuse)
    return "Permission denied"


@pytest.mark.parametrize("failure", ["disk full", "permission denied"])
@pytest.mark.parametrize("step", ["checkpoint", "journal"])
def test_a_failed_write_leaves_the_previous_results_intact(tmp_path, monkeypatch, failure, step):
    path = tmp_path / "r.h5"
    write_results(path, HEADER, [make_record("k1", {"x": 1}, {"m": 1.0})])
    before = path.read_bytes()
    store = store_mod._open(path, HEADER, checkpoint_every_s=1e9)
    if step == "checkpoint":
        store.add([make_record("k9", {"x": 9}, {"m": 9.0})])
    expected = break_writes(monkeypatch, failure)
    with pytest.raises(ResultsError, match=expected):
        store.checkpoint() if step == "checkpoint" else store.add([make_record("k9", {"x": 9}, {"m": 9.0})])
    monkeypatch.undo()
    crash(store)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []
    assert sorted(read_results(path)[1]) == ["k1"]
    assert sorted(load(path)[1]) == (["k1", "k9"] if step == "checkpoint" else ["k1"])


def test_a_real_write_failure_keeps_the_old_file_and_the_finished_points(tmp_path):
    """The kernel refuses to grow files past RLIMIT_FSIZE (EFBIG), as a full disk refuses (ENOSPC)."""
    sweep = tmp_path / "s.yaml"
    out = tmp_path / "r.h5"
    sweep.write_text(textwrap.dedent("""
        kind: trace-summary
        base: {scenario: {phase: decode, output_tokens: 1}}
        grid: {scenario.batch: [1, 2]}
    """))
    cmd = [sys.executable, "-m", "pimsim", "sweep", str(sweep), "-o", str(out), "--serial"]
    subprocess.run(cmd, check=True, capture_output=True)
    before = out.read_bytes()
    sweep.write_text(sweep.read_text().replace("[1, 2]", "[1, 2, 3, 4, 5, 6, 7, 8]"))
    limit = len(before) + 4096       # journal files fit, the grown results file does not

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    res = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=small_files)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "File too large" in lines[0], res.stderr
    assert out.read_bytes() == before                                  # the previous results, intact
    assert len(load(out)[1]) == 8                                      # the new points wait in the journal
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0 and "8 finished before, nothing left to run" in res.stdout
    with h5py.File(out) as f:
        assert len(f["points"]) == 8
    assert not journal_dir(out).exists()


def test_an_output_path_that_is_a_directory_is_one_error(tmp_path):
    with pytest.raises(ResultsError, match="is a directory"):
        with open_store(tmp_path, Header("x", "k", {}, {})):
            pass


@pytest.mark.parametrize("text", ["{", "[]", '{"name": 1, "kind": "k", "sweep": {}, "units": {}}',
                                  '{"name": "n", "kind": "k", "sweep": {}, "units": {"a": 1}}'])
def test_a_damaged_journal_header_is_one_error(tmp_path, text):
    path = tmp_path / "r.h5"
    journal_dir(path).mkdir()
    (journal_dir(path) / "header.json").write_text(text)
    with pytest.raises(ResultsError, match="journal header"):
        load(path)


def test_a_file_that_is_not_a_results_file_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "precious.h5"
    with h5py.File(path, "w") as f:
        f["data"] = [1, 2, 3]
    before = path.read_bytes()
    with pytest.raises(ResultsError, match="not a pimsim sweep results file"):
        with open_store(path, HEADER):
            pass
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["precious.h5"]
