"""``pimsim compare`` from the command line: JSON keys, files written, one-line errors."""

import csv
import json

import pytest

from click.testing import CliRunner

from pimsim.cli import main


def test_compare_json_has_the_documented_keys(tmp_path):
    res = CliRunner().invoke(main, ["compare", "--model", "llama2-7b", "--placements", "gpu,cent", "--batch", "2",
                                    "--context", "600", "--output-len", "8", "--samples", "2", "--json",
                                    "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["placement"] for r in rows] == ["gpu", "cent"]
    for r in rows:
        for key in ("placement", "model", "batch", "context", "tokens_per_s", "ttft_s", "tpot_s",
                    "energy_per_token_J"):
            assert key in r
        assert r["context"] == 600 and r["tokens_per_s"] > 0 and r["energy_per_token_J"] > 0
        # the breakdown: per-component energy adds up, every device's busy fraction, bytes on each link
        assert sum(r["energy_per_token_J_by_component"].values()) == pytest.approx(r["energy_per_token_J"])
        assert all(0 <= b <= 1 for b in r["busy_by_device"].values()) and r["busy_by_device"]
        assert sum(r["link_bytes_per_step_by_link"].values()) >= r["link_bytes_per_step"] > 0
        assert r["notes"]
    names = sorted(p.suffix for p in tmp_path.iterdir())
    assert names == [".csv", ".h5", ".png"]
    # the CSV is flat: breakdowns as <name>.<key> columns, which add up
    table = list(csv.DictReader(next(tmp_path.glob("*.csv")).open()))
    assert [r["placement"] for r in table] == ["gpu", "cent"]
    for r, row in zip(rows, table):
        assert not any("{" in cell for cell in row.values())
        parts = [float(v) for k, v in row.items() if k.startswith("energy_per_token_J.") and v]
        assert sum(parts) == pytest.approx(float(row["energy_per_token_J"]))
        assert float(row["busy_by_device.host"]) == pytest.approx(r["busy_by_device"]["host"])


def test_exported_results_file_reads_back_with_pimsim_export(tmp_path):
    CliRunner().invoke(main, ["compare", "--model", "llama2-7b", "--placements", "gpu", "--batch", "1",
                              "--context", "300", "--output-len", "4", "--samples", "2", "-o", str(tmp_path)])
    h5 = next(tmp_path.glob("*.h5"))
    res = CliRunner().invoke(main, ["export", str(h5), "--csv", "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    assert "tokens_per_s" in (tmp_path / "out.csv").read_text().splitlines()[0]


def test_a_placement_that_does_not_fit_is_reported_and_exits_1(tmp_path):
    res = CliRunner().invoke(main, ["compare", "--model", "llama2-70b", "--placements", "gpu", "--batch", "4096",
                                    "-o", "-"])
    assert res.exit_code == 1
    assert "does not fit" in res.output and "missing" in res.output
    assert "Traceback" not in res.output


def test_unknown_placement_and_bad_batch_are_one_line_errors():
    for args, fragment in ((["--placements", "gpu,warp"], "unknown placement 'warp'"),
                           (["--batch", "lots"], "--batch takes a positive integer or 'max'"),
                           (["--context", "100", "--output-len", "200"], "must be shorter than --context")):
        res = CliRunner().invoke(main, ["compare", "-o", "-", *args])
        lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
        assert res.exit_code == 1 and len(lines) == 1 and fragment in lines[0], res.output


def test_static_power_from_user_presets_is_drawn_by_every_device_for_the_whole_pass(tmp_path, monkeypatch):
    """Presets of one's own on PIMSIM_PATH: A100s drawing 400 W each. Every GPU of the DGX draws it for the
    whole step, so the static energy per token is 8 x 400 W x TPOT / batch, on top of unchanged dynamic
    energy, and the time does not change."""
    (tmp_path / "a100-static.yaml").write_text(
        "preset: a100-80gb\nname: a100-static\nenergy: {static_power: 400W}\n")
    (tmp_path / "dgx-static.yaml").write_text(
        "preset: dgx-a100\nname: dgx-static\ndevices:\n  gpu: {preset: a100-static, count: 8}\n")
    args = ["compare", "--model", "llama2-7b", "--placements", "gpu", "--batch", "8", "--context", "600",
            "--output-len", "4", "--samples", "2", "--json", "-o", "-"]
    plain = json.loads(CliRunner().invoke(main, args).output)[0]
    monkeypatch.setenv("PIMSIM_PATH", str(tmp_path))
    res = CliRunner().invoke(main, args + ["--system", "gpu=dgx-static"])
    assert res.exit_code == 0, res.output
    hot = json.loads(res.output)[0]
    assert hot["system"] == "dgx-static" and hot["tpot_s"] == plain["tpot_s"]
    static = hot["energy_per_token_J_by_component"]["gpu.static"]
    assert static == pytest.approx(8 * 400 * hot["tpot_s"] / 8)
    assert hot["energy_per_token_J"] == pytest.approx(plain["energy_per_token_J"] + static)


def test_set_overrides_one_placements_system():
    """``--set cent.devices.host.sampling_units=1``: the host samples one token at a time, so with 16
    Llama-2-7B queries on 32 devices at a short context it is the busiest device, busy for 16 samplings
    of every step; the step is slower than with the preset's 40 units, where the host waits on the ring."""
    args = ["compare", "--model", "llama2-7b", "--placements", "cent", "--batch", "16", "--context", "300",
            "--output-len", "4", "--samples", "2", "--json", "-o", "-"]
    wide = json.loads(CliRunner().invoke(main, args).output)[0]
    res = CliRunner().invoke(main, args + ["--set", "cent.devices.host.sampling_units=1"])
    assert res.exit_code == 0, res.output
    narrow = json.loads(res.output)[0]
    assert narrow["tpot_s"] > wide["tpot_s"]
    host = narrow["busy_by_device"]["host"]
    assert host == max(narrow["busy_by_device"].values())
    round_s = narrow["tpot_s"]                           # a round gives each of the 16 queries a token
    assert host == pytest.approx(16 * 150e-6 / round_s, rel=0.02)
    assert wide["busy_by_device"]["host"] < 0.1


def test_bad_set_is_one_line_and_exit_1():
    res = CliRunner().invoke(main, ["compare", "--placements", "cent", "--set", "gpu.devices.gpu.count=2",
                                    "-o", "-"])
    assert res.exit_code != 0 and "not in --placements" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["compare", "--placements", "cent", "--set", "cent=3", "-o", "-"])
    assert res.exit_code != 0 and "PLACEMENT.KEY.PATH=VALUE" in res.output


def test_precision_quantises_the_gpu_and_is_refused_where_pim_would_multiply_narrow_operands(tmp_path):
    """W4A16: the GPU reads a quarter of the FP16 weight bytes, so it is faster; AttAcc keeps its quantised
    FFN on the GPUs (its PIM takes 16-bit operands) and still runs; CENT, whose GEMVs are all in PIM,
    is reported as unable to run it (exit 1), the others' results intact."""
    args = ["compare", "--model", "llama2-7b", "--placements", "gpu,attacc,cent", "--batch", "4", "--context",
            "600", "--output-len", "4", "--samples", "2", "--json", "-o", str(tmp_path)]
    fp16 = {r["placement"]: r for r in json.loads(CliRunner().invoke(main, args).output)}
    res = CliRunner().invoke(main, args + ["--precision", "W4A16"])
    assert res.exit_code == 1
    w4 = {r["placement"]: r for r in json.loads(res.stdout)}
    assert w4["gpu"]["precision"] == "W4A16"
    assert w4["gpu"]["weight_bytes_per_step"] == pytest.approx(fp16["gpu"]["weight_bytes_per_step"] / 4, rel=0.01)
    assert w4["gpu"]["tokens_per_s"] > fp16["gpu"]["tokens_per_s"]
    assert w4["attacc"]["tokens_per_s"] > fp16["attacc"]["tokens_per_s"]
    assert "16-bit operands" in w4["cent"]["error"] and "4 bits" in w4["cent"]["error"]
    assert any("W4A16" in p.name for p in tmp_path.iterdir())


def test_a_kv_cache_of_8_bits_is_refused_for_pim_attention():
    res = CliRunner().invoke(main, ["compare", "--model", "llama2-7b", "--placements", "attacc", "--batch", "2",
                                    "--context", "300", "--output-len", "2", "--samples", "2",
                                    "--precision", "W16A16KV8", "-o", "-"])
    assert res.exit_code == 1 and "KV cache of 8 bits" in res.output and "Traceback" not in res.output


def test_run_prints_where_one_placements_time_energy_and_bytes_go():
    """``pimsim run PLACEMENT``: compare's table for one placement plus its breakdown, the placement prefix
    of --option/--set optional. The energy lines add up to the table's mJ/token, the busiest device's
    share is the table's, and the hybrid mapping's note shows the option took effect."""
    res = CliRunner().invoke(main, ["run", "cent", "--model", "llama2-7b", "--batch", "8", "--context", "600",
                                    "--output-len", "4", "--samples", "2", "--option", "mapping=hybrid",
                                    "--set", "cent.devices.pim.count=16", "-o", "-"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "hybrid: 8 stage groups of 2 CXL device(s)" in out
    row = next(line for line in out.splitlines() if line.startswith("cent "))
    table_mj = float(row.split()[7])
    energy = out.split("energy per token, ")[1].split(" mJ:")[0]
    assert float(energy) == pytest.approx(table_mj, abs=0.06)
    section = out.split("energy per token")[1].split("busiest devices")[0]
    shares = [float(line.split()[-1].rstrip("%")) for line in section.splitlines()[1:] if line.strip()]
    assert 99 <= sum(shares) <= 100.1                  # the top components (all of them here)
    assert "busiest devices (of 17;" in out             # 16 CXL devices and the host
    for label in ("weights", "KV cache", "over links"):
        assert label in out


def test_run_json_is_one_placement():
    res = CliRunner().invoke(main, ["run", "gpu", "--model", "llama2-7b", "--batch", "2", "--context", "300",
                                    "--output-len", "2", "--samples", "2", "--json", "-o", "-"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 1 and rows[0]["placement"] == "gpu" and rows[0]["busy_by_device"]
