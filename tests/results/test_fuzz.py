"""Fuzzing every sweep and results entry point with malformed YAML, traces and HDF5 files.

Whatever the input, a command either succeeds or prints exactly one line,
``error: ...``, and exits 1: never a traceback, and never a partial file
(a failed command leaves the directory as it found it, a successful one leaves
only complete files and no journal or temporary files).
"""

import string

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pimsim.cli import main
from pimsim.results.store import load

from .conftest import HEADER, placement_records

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=True)
VALID_SWEEP = {"kind": "trace-summary", "base": {"scenario": {"phase": "decode", "output_tokens": 1}},
               "grid": {"scenario.batch": [1, 2]}}

junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True, width=32),
                 st.text(string.printable, max_size=12), st.sampled_from(["llama2-7b", "decode", "hbm3-6400", "1ns",
                                                                          "dram-replay", "grid", "preset"]))
junk_tree = st.recursive(junk, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(string.ascii_letters + "._", min_size=1, max_size=10), inner, max_size=3), max_leaves=8)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def check_outcome(result, folder, before: set):
    """One clean line on failure and nothing new on disk; complete files only on success."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    names = {p.name for p in folder.rglob("*")}
    assert not [n for n in names if n.endswith(".tmp") or n.endswith(".journal")], names
    if result.exit_code == 1:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return names - before


def sweep_and_check(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    for p in folder.iterdir():
        p.unlink()
    sweep = folder / "s.yaml"
    sweep.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    result = run("sweep", sweep, "-o", folder / "out.h5", "--serial")
    new = check_outcome(result, folder, {"s.yaml"})
    if "out.h5" in new:
        load(folder / "out.h5")          # a results file that exists is complete and readable
    elif result.exit_code == 1:
        assert new == set()


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200),
                      junk_tree.map(lambda t: yaml.safe_dump(t, allow_unicode=True))))
def test_sweep_with_arbitrary_yaml(tmp_path, text):
    sweep_and_check(tmp_path / "w", text)


def mutate(data: dict, draw) -> dict:
    """Replace, delete or add one key somewhere in a valid sweep."""
    data = yaml.safe_load(yaml.safe_dump(data))
    nodes = [(data, k) for k in data] + [(data["base"]["scenario"], k) for k in data["base"]["scenario"]]
    nodes += [(data["grid"], "scenario.batch"), (data["base"], "scenario")]
    parent, key = draw(st.sampled_from(nodes))
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[key] = draw(junk_tree)
    elif action == "delete":
        del parent[key]
    else:
        parent[draw(st.text(string.ascii_letters + "._", min_size=1, max_size=8))] = draw(junk_tree)
    return data


@FUZZ
@given(data=st.data())
def test_sweep_with_a_mutated_valid_file(tmp_path, data):
    sweep_and_check(tmp_path / "m", yaml.safe_dump(mutate(VALID_SWEEP, data.draw)))


trace_token = st.sampled_from(["R", "W", "LD", "ST", "0x40", "64", "-1", "zz", "0x", "99999999999999999999", "#",
                               "# pimsim dram trace v1", "0,0,0,0,0,1,1", "12", "3.5", "\t", ""])
trace_text = st.one_of(
    st.lists(st.lists(trace_token, max_size=4).map(" ".join), max_size=20).map("\n".join),
    st.text(max_size=120), st.binary(max_size=120))


@FUZZ
@given(trace=trace_text)
def test_replay_and_a_dram_sweep_with_arbitrary_traces(tmp_path, trace):
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    for p in folder.iterdir():
        p.unlink()
    (folder / "x.trace").write_bytes(trace if isinstance(trace, bytes) else trace.encode("utf-8", "surrogatepass"))
    (folder / "s.yaml").write_text("kind: dram-replay\nbase: {trace: x.trace, refresh: none}\ngrid: {width: [1, 4]}\n")
    before = {"x.trace", "s.yaml"}
    result = run("replay", folder / "x.trace", "--refresh", "none")
    assert check_outcome(result, folder, before) == set()
    result = run("sweep", folder / "s.yaml", "-o", folder / "out.h5", "--serial")
    new = check_outcome(result, folder, before)
    assert new in (set(), {"out.h5"})
    if new:
        assert all(r.ok for r in load(folder / "out.h5")[1].values())


HDF5_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")   # what HDF5 can hold


def corrupt(path, draw) -> None:
    """One structural fault in a valid results file."""
    with h5py.File(path, "r+") as f:
        key = draw(st.sampled_from(sorted(f["points"])))
        g = f["points"][key]
        target = draw(st.sampled_from([f, g, g["metrics"], f["units"]]))
        action = draw(st.sampled_from(["delete-attr", "set-attr", "delete-group", "dataset", "array-attr"]))
        names = sorted(target.attrs) or ["x"]
        name = draw(st.sampled_from(names))
        if action == "delete-attr" and name in target.attrs:
            del target.attrs[name]
        elif action == "set-attr":
            target.attrs[name] = draw(st.one_of(st.integers(-2, 3), st.text(HDF5_TEXT, max_size=8), st.floats(width=32),
                                                st.just("{not json"), st.just("[]")))
        elif action == "array-attr":
            target.attrs[name] = np.arange(draw(st.integers(0, 3)))
        elif action == "delete-group":
            del f[draw(st.sampled_from(["points", "units", f"points/{key}", f"points/{key}/metrics"]))]
        else:
            del f["points"][key]
            f["points"][key] = np.zeros(3)


COMMANDS = [["export", "--csv"], ["plot", "--x", "batch", "--y", "tokens_per_s", "--hue", "placement"],
            ["report"]]


def results_commands_and_check(folder, path):
    before = {p.name for p in folder.iterdir()}
    for args in COMMANDS:
        result = run(args[0], path, *args[1:], "-o", folder / "out")
        new = check_outcome(result, folder, before)
        if result.exit_code == 1:
            assert new == set()
        for p in new:
            (folder / p).unlink()


@FUZZ
@given(data=st.data())
def test_results_commands_with_damaged_or_foreign_hdf5(tmp_path, data):
    from pimsim.results.h5file import write_results

    folder = tmp_path / "h"
    folder.mkdir(exist_ok=True)
    for p in folder.iterdir():
        p.unlink()
    path = folder / "r.h5"
    write_results(path, HEADER, placement_records())
    kind = data.draw(st.sampled_from(["structure", "truncate", "flip", "bytes", "foreign"]))
    if kind == "structure":
        corrupt(path, data.draw)
    elif kind == "truncate":
        raw = path.read_bytes()
        path.write_bytes(raw[:data.draw(st.integers(0, len(raw) - 1))])
    elif kind == "flip":
        raw = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        path.write_bytes(bytes(raw))
    elif kind == "bytes":
        path.write_bytes(data.draw(st.sampled_from([b"", b"\x89HDF\r\n\x1a\n"])) + data.draw(st.binary(max_size=300)))
    else:
        with h5py.File(path, "w") as f:           # an HDF5 file pimsim did not write (e.g. a trace)
            f.attrs["format"] = data.draw(st.sampled_from(["pimsim-trace", "pimsim-sweep"]))
            f.create_group("ops").create_dataset("id", data=np.arange(3))
    results_commands_and_check(folder, path)


@pytest.mark.parametrize("name", ["missing.h5", "."])
def test_results_commands_with_a_missing_file_or_a_directory(tmp_path, name):
    for args in COMMANDS:
        result = run(args[0], tmp_path / name, *args[1:])
        assert check_outcome(result, tmp_path, set()) == set()
        assert result.exit_code == 1
