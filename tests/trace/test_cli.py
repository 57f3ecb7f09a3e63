"""``pimsim trace`` through click's CliRunner: files, summaries, and one-line errors for bad input."""

import click
import pytest
from click.testing import CliRunner

from pimsim.cli import PimsimGroup
from pimsim.trace import read_trace
from pimsim.trace.cli import trace_cmd


@click.group(cls=PimsimGroup)
def cli():
    """The trace command under the same error handling as ``pimsim``."""


cli.add_command(trace_cmd)


def run(*args):
    return CliRunner().invoke(cli, ["trace", *args])


def test_decode_step_to_a_jsonl_file(tmp_path):
    out = tmp_path / "decode.jsonl"
    result = run("llama2-70b", "--phase", "decode", "--batch", "32", "--context", "4096", "-o", str(out))
    assert result.exit_code == 0, result.output
    trace = read_trace(out)
    assert f"wrote {len(trace)} operators" in result.output
    assert set(trace["step"].tolist()) == {0}  # --context alone means one decode step
    reads = trace.where(kind="kv_read")
    assert set(reads["seq"].tolist()) == {4096} and set(reads["batch"].tolist()) == {32}


def test_summary_shows_decode_weight_products_near_one_flop_per_byte():
    result = run("llama2-7b", "--context", "512", "--summary")  # --context implies one decode step
    assert result.exit_code == 0, result.output
    gemv = next(line for line in result.output.splitlines() if line.startswith("gemv"))
    assert 0.9 < float(gemv.split()[-1]) < 1.01
    assert "total" in result.output and "kv_read" in result.output


def test_summary_by_phase_with_speculative_decoding():
    result = run("llama3-8b", "--prompt", "64", "--output-tokens", "20", "--draft", "llama3.2-1b",
                 "--draft-tokens", "3", "--acceptance", "0.6", "--by", "phase")
    assert result.exit_code == 0, result.output
    labels = [line.split()[0] for line in result.output.splitlines()[2:]]
    assert labels == ["prefill", "draft", "verify", "total"]


def test_hdf5_output_and_scenario_preset(tmp_path):
    out = tmp_path / "t.h5"
    result = run("mixtral-8x7b", "--scenario", "moe-skewed", "--output-tokens", "4", "-o", str(out), "--summary")
    assert result.exit_code == 0, result.output
    trace = read_trace(out)
    assert trace.meta["scenario"]["routing"]["policy"] == "skewed" and "expert_ffn" in result.output


@pytest.mark.parametrize("args, message", [
    (["llama2-7b", "--batch", "0"], "error: options: batch: 0 is below the minimum 1"),
    (["llama2-7b", "--phase", "decod"], "did you mean 'decode'"),
    (["llama2-7b", "--precision", "W3"], "error: options: precision: weight width 3 bit is not one of"),
    (["llama2-7b", "--precision", "fast"], "cannot read precision 'fast'"),
    (["llama2-7b", "--acceptance", "1.2", "--draft", "llama2-7b"], "options: speculative.acceptance_rate"),
    (["lama2-7b"], "error: unknown workload 'lama2-7b'"),
    (["llama2-7b", "-o", "trace.csv"], "unknown trace format '.csv'"),
    (["llama2-70b", "--tp", "3"], "tensor_parallel: 3 shards do not split"),
    (["llama2-7b", "--scenario", "nope"], "unknown scenario 'nope'"),
    (["llama2-7b", "--by", "colour", "--summary"], "cannot summarise by 'colour'"),
    (["llama2-7b", "--prompt", "5000"], "exceed llama2-7b's max_position_embeddings"),
    (["llama2-7b", "--phase", "both", "--context", "64"], "context_tokens: applies to phase 'decode' only"),
])
def test_bad_input_is_one_line_and_exit_1(args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_trace_command_is_registered_on_pimsim():
    from pimsim.cli import main

    if "trace" not in main.commands:
        pytest.skip("pimsim/cli.py does not register trace_cmd yet")
    assert main.commands["trace"] is trace_cmd
