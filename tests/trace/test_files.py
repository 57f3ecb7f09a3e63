"""Trace files: lossless round trips between JSON Lines and HDF5, and clear errors for bad files."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pimsim.core.errors import TraceError
from pimsim.trace import KINDS, PHASES, SCHEMA_VERSION, OpRecord, OpTable, Scenario, generate, read_trace, write_trace
from pimsim.trace.scenario import Routing, Speculative


@pytest.fixture(scope="module")
def mixed_trace():
    """MoE with skewed routing, tensor parallelism and a KV8 cache: every column non-trivial."""
    scenario = Scenario(phase="both", batch=3, prompt_tokens=40, output_tokens=6, precision="W4A16KV8",
                        tensor_parallel=2, routing=Routing(policy="skewed", seed=3))
    return generate("mixtral-8x7b", scenario)


@pytest.mark.parametrize("first, second", [(".jsonl", ".h5"), (".h5", ".jsonl"), (".hdf5", ".ndjson")])
def test_round_trip_through_both_formats_is_lossless(tmp_path, mixed_trace, first, second):
    a = read_trace(write_trace(mixed_trace, tmp_path / f"a{first}"))
    b = read_trace(write_trace(a, tmp_path / f"b{second}"))
    assert a.equals(mixed_trace) and b.equals(mixed_trace)
    assert list(b)[:50] == list(mixed_trace)[:50]


def test_speculative_trace_round_trips_with_both_models_in_the_header(tmp_path):
    spec = Speculative(draft="llama3.2-1b", tokens=2, acceptance_rate=0.5)
    trace = generate("llama3-8b", Scenario(phase="both", prompt_tokens=8, output_tokens=4, speculative=spec))
    back = read_trace(write_trace(trace, tmp_path / "s.h5"))
    assert back.equals(trace) and back.meta["draft_model"]["name"] == "llama3.2-1b"


def test_jsonl_header_names_model_scenario_and_versions(tmp_path):
    path = write_trace(generate("llama2-7b", Scenario(phase="decode", output_tokens=1)), tmp_path / "t.jsonl")
    header = json.loads(path.read_text().splitlines()[0])
    assert header["schema_version"] == SCHEMA_VERSION and header["model"]["name"] == "llama2-7b"
    assert header["scenario"]["phase"] == "decode" and "pimsim_version" in header
    first_op = json.loads(path.read_text().splitlines()[1])
    assert list(first_op) == list(OpRecord.__dataclass_fields__)


records = st.builds(
    OpRecord, id=st.just(0), step=st.integers(0, 10**6), layer=st.integers(-1, 200),
    phase=st.sampled_from(PHASES), kind=st.sampled_from(KINDS), name=st.text(min_size=1, max_size=12),
    m=st.integers(0, 2**40), n=st.integers(0, 2**40), k=st.integers(0, 2**40), heads=st.integers(0, 2**31 - 1),
    head_dim=st.integers(0, 4096), batch=st.integers(0, 2**31 - 1), seq=st.integers(0, 2**40),
    shards=st.integers(1, 64), weight_bits=st.sampled_from([4, 8, 16]), activation_bits=st.sampled_from([8, 16]),
    kv_bits=st.sampled_from([4, 8, 16]), bytes_read=st.integers(0, 2**62), bytes_written=st.integers(0, 2**62),
    weight_bytes=st.integers(0, 2**62), flops=st.integers(0, 2**62))


@settings(max_examples=25, deadline=None)
@given(st.lists(records, min_size=1, max_size=8), st.data())
def test_any_valid_records_round_trip(tmp_path_factory, ops, data):
    ops = [op.__class__(**{**op.__dict__, "id": 10 * i,
                           "deps": tuple(data.draw(st.sets(st.sampled_from(range(i)), max_size=3)) if i else ())})
           for i, op in enumerate(ops)]
    ops = [op.__class__(**{**op.__dict__, "deps": tuple(10 * d for d in op.deps)}) for op in ops]
    table = OpTable.from_records(ops, {"model": {"name": "x"}, "note": [1, "two"]})
    folder = tmp_path_factory.mktemp("rt")
    for suffix in (".jsonl", ".h5"):
        back = read_trace(write_trace(table, folder / f"t{suffix}"))
        assert back.equals(table) and list(back) == ops


# -- bad files ----------------------------------------------------------------------

def small_jsonl(tmp_path):
    path = write_trace(generate("llama3.2-1b", Scenario(phase="decode", output_tokens=1)), tmp_path / "t.jsonl")
    return path, path.read_text().splitlines()


def rewrite(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_schema_version_mismatch_is_a_clear_error(tmp_path):
    path, lines = small_jsonl(tmp_path)
    header = json.loads(lines[0])
    header["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(TraceError, match=r"t.jsonl:1: trace schema version 2 .* reads version 1"):
        read_trace(rewrite(path, [json.dumps(header)] + lines[1:]))


def test_hdf5_schema_version_mismatch_is_a_clear_error(tmp_path):
    import h5py

    path = write_trace(generate("llama3.2-1b", Scenario(phase="decode", output_tokens=1)), tmp_path / "t.h5")
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(TraceError, match="schema version 99"):
        read_trace(path)


@pytest.mark.parametrize("damage, message", [
    (lambda line: line[:-5], r"t.jsonl:7: malformed JSON"),
    (lambda line: line.replace('"flops":', '"flop":'), r"t.jsonl:7: missing field 'flops'"),
    (lambda line: line.replace('"kind":"', '"kind":"x'), r"t.jsonl:7: unknown kind"),
    (lambda line: line.replace('"m":', '"m":-5,"zz":'), r"t.jsonl:7: unknown field 'zz'"),
    (lambda line: line.replace('"bytes_read":', '"bytes_read":-'), r"t.jsonl:7: field 'bytes_read' is negative"),
    (lambda line: line.replace('"n":', '"n":"8","x":'), r"t.jsonl:7: unknown field 'x'"),
    (lambda line: line.replace('"batch":', '"batch":1.5,"y":'), r"t.jsonl:7: unknown field 'y'"),
    (lambda line: re.sub(r'"seq":\d+', '"seq":"12"', line), r"t.jsonl:7: field 'seq' must be an integer"),
    (lambda line: re.sub(r'"heads":\d+', '"heads":99999999999', line), r"t.jsonl:7: field 'heads' is out of range"),
    (lambda line: line.replace('"deps":[', '"deps":[999999,'), r"t.jsonl:7: depends on id 999999"),
    (lambda line: "[1, 2]", r"t.jsonl:7: expected a JSON object"),
])
def test_corrupt_jsonl_line_is_named(tmp_path, damage, message):
    path, lines = small_jsonl(tmp_path)
    lines[6] = damage(lines[6])
    with pytest.raises(TraceError, match=message):
        read_trace(rewrite(path, lines))


def test_duplicate_id_is_named_by_line(tmp_path):
    path, lines = small_jsonl(tmp_path)
    lines[4] = lines[4].replace('"id":3,', '"id":2,')
    with pytest.raises(TraceError, match=r"t.jsonl:5: id 2 is used twice"):
        read_trace(rewrite(path, lines))


@pytest.mark.parametrize("content, message", [("", "empty file"), ("not json\n", "t.jsonl:1: malformed JSON"),
                                              ('{"format": "other"}\n', "t.jsonl:1: not a pimsim trace")])
def test_bad_header(tmp_path, content, message):
    path = tmp_path / "t.jsonl"
    path.write_text(content)
    with pytest.raises(TraceError, match=message):
        read_trace(path)


def test_a_file_that_is_not_hdf5_is_named(tmp_path):
    path = tmp_path / "t.h5"
    path.write_bytes(b"\x89HDF garbage" * 10)
    with pytest.raises(TraceError, match=r"t.h5: not a readable HDF5 trace"):
        read_trace(path)


def test_hdf5_missing_dataset_is_named(tmp_path):
    import h5py

    path = write_trace(generate("llama3.2-1b", Scenario(phase="decode", output_tokens=1)), tmp_path / "t.h5")
    with h5py.File(path, "a") as f:
        del f["ops/flops"]
    with pytest.raises(TraceError, match="missing dataset 'ops/flops'"):
        read_trace(path)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(TraceError, match="unknown trace format '.csv'"):
        read_trace(tmp_path / "t.csv")
    with pytest.raises(TraceError, match="file not found"):
        read_trace(tmp_path / "none.jsonl")


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    import pimsim.trace.hdf5 as hdf5

    def broken(table, path):
        path.write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(hdf5, "write_hdf5", broken)
    with pytest.raises(OSError):
        write_trace(generate("llama3.2-1b", Scenario(phase="decode", output_tokens=1)), tmp_path / "t.h5")
    assert list(tmp_path.iterdir()) == []


def test_concatenated_traces_keep_every_operator_and_name(tmp_path):
    from pimsim.trace.table import concat

    dense = generate("llama3.2-1b", Scenario(phase="decode", output_tokens=1))
    moe = generate("mixtral-8x7b", Scenario(phase="decode", output_tokens=1))
    joined = concat([dense, moe])
    assert len(joined) == len(dense) + len(moe)
    assert list(joined)[len(dense) - 1] == dense.record(len(dense) - 1)
    shifted = joined.record(len(dense) + 5)
    assert shifted.id == len(dense) + 5 and shifted.deps == tuple(d + len(dense) for d in moe.record(5).deps)
    assert shifted.name == moe.record(5).name and shifted.flops == moe.record(5).flops
    assert read_trace(write_trace(joined, tmp_path / "j.h5")).equals(joined)
