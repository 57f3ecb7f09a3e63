"""The command line: the commands users type, their outputs, and one-line errors."""

import json

import pytest
from click.testing import CliRunner

from pimsim.cli import main


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def test_replay_default_sample_runs(cli):
    res = cli("replay")
    assert res.exit_code == 0, res.output
    assert "bandwidth" in res.output and "row buffer" in res.output


def test_replay_json_has_required_keys(cli, tmp_path):
    out = tmp_path / "r.csv"
    res = cli("replay", "--json", "-o", str(out))
    data = json.loads(res.output)
    for key in ("cycles", "time_ps", "requests", "reads", "writes", "row_hits", "row_misses", "row_conflicts",
                "bandwidth_GBps"):
        assert key in data
    assert data["reads"] + data["writes"] == data["requests"]
    assert data["bandwidth_GBps"] == pytest.approx(data["requests"] * 32 / (data["time_ps"] / 1000))
    header, row = out.read_text().splitlines()
    assert "bandwidth_GBps" in header.split(",")


def test_replay_formats_agree(cli, tmp_path):
    """The same accesses as LD/ST, R/W linear, and pimsim's format give the same timing."""
    addrs = [i * 32 for i in range(2000)]
    (tmp_path / "a.trace").write_text("".join(f"LD {a:#x}\n" for a in addrs))
    (tmp_path / "b.trace").write_text("".join(f"R {a}\n" for a in addrs))
    (tmp_path / "c.trace").write_text("# pimsim dram trace v1\n" + "".join(f"0 R {a:#x}\n" for a in addrs))
    results = [json.loads(cli("replay", str(tmp_path / f"{n}.trace"), "--json").output) for n in "abc"]
    assert len({r["cycles"] for r in results}) == 1


def test_replay_vector_trace_matches_hand_formula(cli, tmp_path):
    """HBM2, one bank, 4 rows of 32 reads, no refresh: 157 cycles per row (Ramulator's hand check)."""
    lines = [f"R 0,0,0,0,{i // 32},{i % 32}" for i in range(128)]
    (tmp_path / "v.trace").write_text("\n".join(lines) + "\n")
    res = cli("replay", str(tmp_path / "v.trace"), "--device", "hbm2-2000", "--refresh", "none", "--json")
    data = json.loads(res.output)
    # row i: ACT at 157*i + 1; last RD at ACT + 15 + 31*4; + CL + BL = 16
    assert data["cycles"] == 157 * 3 + 1 + 15 + 31 * 4 + 16


@pytest.mark.parametrize("args, fragment", [
    (["replay", "--device", "nope"], "unknown device 'nope'"),
    (["replay", "--mapping", "Nope"], "unknown address mapping 'Nope'"),
    (["replay", "--set", "timing_cycles.tRCD_RD=100"], "impossible timing"),
    (["replay", "--set", "clock.tCK=3"], "has no unit"),
    (["replay", "missing.trace"], "trace file not found"),
    (["show-config", "nothing-like-this"], "unknown preset"),
])
def test_bad_input_is_one_line_and_nonzero(args, fragment):
    res = CliRunner(mix_stderr=False).invoke(main, args) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames \
        else CliRunner().invoke(main, args)
    assert res.exit_code == 1
    err = res.stderr if hasattr(res, "stderr") and res.stderr else res.output
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in res.output


def test_malformed_trace_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.trace"
    bad.write_text("R 0x0\nR 0x20\nR zz\n")
    res = CliRunner().invoke(main, ["replay", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:3" in res.output and "'zz' is not a number" in res.output


def test_vector_trace_out_of_range(tmp_path):
    bad = tmp_path / "v.trace"
    bad.write_text("R 0,0,0,0,0,0\nR 0,0,9,0,0,0\n")
    res = CliRunner().invoke(main, ["replay", str(bad), "--device", "hbm2-2000"])
    assert res.exit_code == 1 and f"{bad}:2" in res.output and "bank_group 9 is out of range" in res.output


def test_list_shows_presets_with_sources(cli):
    res = cli("list", "devices")
    assert "hbm3-6400" in res.output and "source: JEDEC" in res.output


def test_show_config_resolved_has_derived_fields(cli):
    res = cli("show-config", "hbm2-2000", "--resolved", "--set", "timing_cycles.tRCD_RD=15")
    assert "peak_bw_GBps: 256.0" in res.output and "tRCD_RD: 15" in res.output


def test_show_config_resolves_a_workload_with_its_derived_sizes(cli):
    """Llama-2-7B: 6,738,415,616 parameters (Meta's count), 512 KiB of FP16 KV cache per token; an override
    of the layer count changes both."""
    res = cli("show-config", "llama2-7b", "--resolved")
    assert "parameters: 6738415616" in res.output and "kv_cache_bytes_per_token_fp16: 524288" in res.output
    res = cli("show-config", "llama2-7b", "--resolved", "--set", "num_hidden_layers=16")
    assert "kv_cache_bytes_per_token_fp16: 262144" in res.output and "parameters: 6738415616" not in res.output


def test_output_file_written_atomically_keeps_old_on_failure(tmp_path, cli):
    out = tmp_path / "r.json"
    out.write_text("old")
    res = CliRunner().invoke(main, ["replay", "-o", str(out), "--device", "nope"])
    assert res.exit_code == 1 and out.read_text() == "old"
    cli("replay", "-o", str(out))
    assert json.loads(out.read_text())["requests"] == 12544
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.json")]
