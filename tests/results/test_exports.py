"""The tidy table, CSV export, plots and paper tables, on any column names with units from the file."""

import csv

import pytest

from pimsim.core.errors import ConfigError
from pimsim.results.export import export_csv
from pimsim.results.h5file import Header, write_results
from pimsim.results.plot import make_figure
from pimsim.results.report import format_value, latex_cell, report
from pimsim.results.store import load
from pimsim.results.table import build_table

from .conftest import HEADER, make_record


def table_of(path):
    header, records = load(path)
    return build_table(header, records.values())


def test_columns_are_short_unique_names_with_roles_and_units(results_file):
    t = table_of(results_file)
    assert t.columns == ("point", "status", "placement", "batch", "tokens_per_s", "steps", "seed", "error")
    assert t.sources["batch"] == "scenario.batch"
    assert t.label("batch") == "batch (sequences)" and t.label("tokens_per_s") == "tokens_per_s (tokens/s)"
    assert t.label("steps") == "steps"
    assert t.column("scenario.batch") == t.column("batch") == "batch"


def test_names_that_clash_keep_enough_of_their_path():
    recs = [make_record("k1", {"a.batch": 1, "b.batch": 2, "x.tokens_per_s": 3}, {"tokens_per_s": 1.0})]
    t = build_table(Header("n", "k", {}, {}), recs)
    assert t.of_role("param") == ["a.batch", "b.batch", "x.tokens_per_s"]
    with pytest.raises(ConfigError, match="'batch' matches several columns: a.batch, b.batch"):
        t.column("batch")
    with pytest.raises(ConfigError, match="no column 'tokens_per' .*did you mean 'tokens_per_s'"):
        t.column("tokens_per")


def test_rows_sort_numerically_by_parameter(results_file):
    rows = table_of(results_file).rows
    gpu = [r["batch"] for r in rows if r["placement"] == "gpu"]
    assert gpu == [1, 8, 64, 512]


def test_csv_is_tidy_and_floats_read_back_exactly(results_file, tmp_path):
    path, _ = export_csv(results_file, tmp_path / "out.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 13 and set(rows[0]) == {"point", "status", "placement", "batch", "tokens_per_s", "steps",
                                                "seed", "error"}
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "out of memory" and failed[0]["tokens_per_s"] == ""
    _, records = load(results_file)
    for r in rows:
        if r["status"] == "ok":
            assert float(r["tokens_per_s"]) == records[r["point"]].metrics["tokens_per_s"]
    ok_only, _ = export_csv(results_file, tmp_path / "ok.csv", include_failed=False)
    assert len(ok_only.read_text().splitlines()) == 13


def test_export_never_overwrites_the_results_file(results_file):
    with pytest.raises(ConfigError, match="is the results file itself"):
        export_csv(results_file, results_file)


def test_plot_has_a_line_per_hue_with_the_stored_values_and_labelled_axes(results_file):
    fig, *_ = make_figure(results_file, x="batch", y="tokens_per_s", hue="placement", logx=True)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("batch (sequences)", "tokens_per_s (tokens/s)")
    assert ax.get_legend().get_title().get_text() == "placement"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert sorted(lines) == ["cxl", "gpu", "npu", "pim"]
    assert list(lines["pim"].get_xdata()) == [1, 8, 64]
    assert list(lines["pim"].get_ydata()) == [250.0, 2000.0, 16000.0]
    assert ax.get_xscale() == "log"


def test_points_that_would_overlap_are_refused_unless_filtered_or_aggregated(results_file):
    with pytest.raises(ConfigError, match="4 points share batch = 1; they differ in placement .* --where placement=cxl"):
        make_figure(results_file, x="batch", y="tokens_per_s")
    fig, *_ = make_figure(results_file, x="batch", y="tokens_per_s", agg="mean")
    assert list(fig.axes[0].get_lines()[0].get_ydata())[0] == pytest.approx((100 + 250 + 60 + 140) / 4)
    fig, *_ = make_figure(results_file, x="batch", y="tokens_per_s", where=["placement=npu"])
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [140.0, 1120.0, 8960.0]
    assert "placement=npu" in fig.axes[0].get_title()


@pytest.mark.parametrize("kwargs, fragment", [
    ({"x": "batch", "y": "placement", "hue": "placement"}, "column 'placement' is not numeric"),
    ({"x": "batch", "y": "tokens_per_s", "hue": "placement", "where": ["placement=tpu"]}, "no finished point has"),
    ({"x": "batch", "y": "tokens_per_s", "hue": "placement", "where": ["placement"]}, "expects column=value"),
    ({"x": "bat", "y": "tokens_per_s"}, "no column 'bat'"),
])
def test_plot_errors_say_what_to_change(results_file, kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make_figure(results_file, **kwargs)


def test_log_axes_refuse_values_that_are_not_positive(tmp_path):
    path = tmp_path / "r.h5"
    write_results(path, HEADER, [make_record(f"k{b}", {"scenario.batch": b}, {"tokens_per_s": float(b)})
                                 for b in (0, 1, 2)])
    with pytest.raises(ConfigError, match="--logx: the x values include zero"):
        make_figure(path, x="batch", y="tokens_per_s", logx=True)


def test_plot_command_writes_png_and_pdf(results_file, run_cli, tmp_path):
    res = run_cli("plot", results_file, "--x", "batch", "--y", "tokens_per_s", "--hue", "placement", "-o",
                  tmp_path / "fig.png")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig.pdf").read_bytes()[:5] == b"%PDF-"


def test_report_writes_markdown_and_latex_with_units(results_file, tmp_path):
    (md_path, tex_path), md = report(results_file, metrics=["tokens_per_s"], output=tmp_path / "t")
    lines = md.splitlines()
    assert lines[2] == "| placement | batch (sequences) | tokens_per_s (tokens/s) |"
    assert lines[3] == "|---|---|---:|"
    assert "| pim | 64 | 16,000 |" in lines
    assert "12 points; 1 failed point(s) not shown" in md
    tex = tex_path.read_text()
    assert r"\toprule" in tex and r"tokens\_per\_s (tokens/s)" in tex and r"pim & 64 & 16,000 \\" in tex
    assert md_path.read_text() == md


@pytest.mark.parametrize("value, digits, text", [
    (123456.0, 4, "123,456"), (1234567.0, 4, "1.235e+06"), (0.012345, 3, "0.0123"), (2.5, 4, "2.500"),
    (42, 4, "42"), (12345678, 4, "1.235e+07"), (0.00012345, 2, "1.2e-04"), (float("nan"), 4, "nan"),
    ("x", 4, "x"), (True, 4, "True"), (0.0, 4, "0"), (9999.6, 4, "10,000"), (-2.5, 2, "-2.5"),
])
def test_numbers_keep_the_significant_digits_asked_for(value, digits, text):
    assert format_value(value, digits) == text


def test_latex_cells_escape_and_typeset_exponents():
    assert latex_cell("1.235e+05") == r"$1.235\times10^{5}$"
    assert latex_cell("a_b & 50%") == r"a\_b \& 50\%"


def test_report_command_prints_markdown(results_file, run_cli, tmp_path):
    res = run_cli("report", results_file, "-m", "tokens_per_s", "--where", "placement=gpu", "-o", tmp_path / "t")
    assert res.exit_code == 0, res.output
    assert "| gpu | 8 | 800.0 |" in res.stdout and (tmp_path / "t.tex").exists()


def test_categories_on_x_are_grouped_bars(results_file):
    fig, *_ = make_figure(results_file, x="placement", y="tokens_per_s", hue="batch")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cxl", "gpu", "npu", "pim"]
    assert ax.get_lines() == []                                   # no lines joining unrelated categories
    bars = {(round(b.get_x() + b.get_width() / 2), b.get_height()) for b in ax.patches}
    assert (3, 250.0 * 64) in bars and (0, 60.0) in bars and len(ax.patches) == 12
    assert ax.get_legend().get_title().get_text() == "batch (sequences)"


def test_bar_labels_are_plain_numbers():
    from pimsim.results.bars import _number

    assert [_number(v) for v in (2204.36, 825.0, 146.1, 12.345, 0.5, 0.0)] == \
        ["2,204", "825", "146", "12.3", "0.5", "0"]
