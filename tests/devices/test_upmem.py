"""UPMEM DPU model against PrIM's real-hardware figures (tests/data/upmem_prim.yaml) and analytic oracles."""

from pathlib import Path

import pytest
import simpy
import yaml

from pimsim.core.errors import ConfigError
from pimsim.devices import upmem_bench as bench
from pimsim.devices.loading import load_device
from pimsim.devices.upmem import Upmem
from pimsim.devices.upmem_dpu import IssueStage

PRIM = yaml.safe_load((Path(__file__).parents[1] / "data" / "upmem_prim.yaml").read_text())
TOLERANCE = 0.15


@pytest.fixture(scope="module")
def rank():
    return load_device("upmem-rank")


@pytest.fixture(scope="module")
def server():
    return load_device("upmem-server")


def within(model, reference, tol=TOLERANCE):
    return abs(model - reference) <= tol * reference


# -- architecture -----------------------------------------------------------------

def test_preset_matches_the_documented_architecture(server):
    assert server.frequency == PRIM["frequency_MHz"] * 1e6
    assert server.tasklets == PRIM["tasklets_max"] and server.pipeline_stages == PRIM["pipeline_stages"]
    assert server.issue_interval == PRIM["saturation_tasklets"]
    assert (server.wram, server.mram, server.iram_instructions) == (PRIM["wram_bytes"], PRIM["mram_bytes"],
                                                                   PRIM["iram_instructions"])
    assert server.dpus == PRIM["system"]["dpus_built"]
    usable_gb = PRIM["system"]["dpus_usable"] * server.mram / 2**30
    assert usable_gb == pytest.approx(PRIM["system"]["mram_GB"])


# -- pipeline ------------------------------------------------------------------------

@pytest.mark.parametrize("tasklets, expected", [(1, 11 * 100), (5, 11 * 100), (11, 11 * 100), (12, 12 * 100),
                                                (24, 24 * 100)])
def test_issue_stage_serves_tasklets_at_one_over_max_of_11_and_active(tasklets, expected):
    env = simpy.Environment()
    stage = IssueStage(env, 11)
    done = [stage.run(100) for _ in range(tasklets)]
    env.run(env.all_of(done))
    assert env.now == expected


def test_issue_stage_shares_fairly_when_tasklets_finish_at_different_times():
    env = simpy.Environment()
    stage = IssueStage(env, 2)
    short, long_ = stage.run(10), stage.run(30)
    env.run(short)
    assert env.now == 20        # two tasklets at 1/2 instruction per cycle each
    env.run(long_)
    assert env.now == 20 + 20 * 2  # alone: still 1/2 (issue interval 2)


def test_arithmetic_throughput_rises_linearly_to_11_tasklets_then_stays_flat(rank):
    mops = {t: bench.arithmetic_mops(rank, "add", "int32", t) for t in range(1, 25)}
    for t in range(1, 12):
        assert mops[t] == pytest.approx(mops[11] * t / 11, rel=0.01)
    for t in range(11, 25):
        assert mops[t] == pytest.approx(mops[11], rel=0.01)


@pytest.mark.parametrize("op, dtype", [("add", "int32"), ("mul", "int32"), ("add", "fp32"), ("mul", "fp32")])
def test_saturated_arithmetic_throughput_matches_prim_fig4(rank, op, dtype):
    reference = PRIM["arithmetic_MOPS"][f"{op}_{dtype}"]
    assert within(bench.arithmetic_mops(rank, op, dtype, 16), reference)


def test_int32_add_near_58_mops_at_350_mhz_is_the_frequency_over_six_instructions(rank):
    assert bench.arithmetic_mops(rank, "add", "int32", 11) == pytest.approx(350 / 6, rel=1e-3)
    assert within(350 / 6, 58.6, 0.01)


def test_throughput_scales_with_clock_v1b_at_400_mhz():
    v1b = load_device("upmem-rank", sets=["frequency=400MHz"])
    assert bench.arithmetic_mops(v1b, "add", "int32", 16) == pytest.approx(400 / 6, rel=1e-3)


# -- MRAM <-> WRAM DMA ------------------------------------------------------------------

@pytest.mark.parametrize("write, alpha", [(False, PRIM["dma"]["read_alpha_cycles"]),
                                          (True, PRIM["dma"]["write_alpha_cycles"])])
def test_dma_latency_is_linear_in_size_with_prim_alpha_and_beta(rank, write, alpha):
    sizes = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    cycles = [bench.dma_cycles(rank, s, write) for s in sizes]
    slope = (cycles[-1] - cycles[0]) / (sizes[-1] - sizes[0])
    assert slope == pytest.approx(PRIM["dma"]["beta_cycles_per_byte"], rel=0.01)
    for s, c in zip(sizes, cycles):
        assert c == pytest.approx(alpha + slope * s, abs=1)


def test_dma_bandwidth_saturates_below_the_700_mb_s_peak(rank):
    bw = [bench.dma_bandwidth(rank, s) / 1e6 for s in (8, 64, 512, 2048)]
    assert bw == sorted(bw)
    assert bw[-1] < PRIM["dma"]["peak_MBps"] and within(bw[-1], PRIM["dma"]["peak_MBps"])


def test_dma_engine_is_shared_so_concurrent_transfers_serialise(rank):
    one = bench.dma_cycles(rank, 2048)
    assert bench.dma_cycles(rank, 2048, tasklets=4) == 4 * one


def test_dma_larger_than_2kb_is_split_and_pays_alpha_per_piece(rank):
    assert bench.dma_cycles(rank, 4096) == 2 * 77 + 2048


# -- host <-> DPU transfers -------------------------------------------------------------

def test_one_dpu_transfer_matches_prim(rank):
    assert within(bench.host_bandwidth(rank, 1) / 1e9, PRIM["host_transfer_GBps"]["cpu_to_dpu_one"])


def test_parallel_transfer_to_a_rank_matches_prim(rank):
    n = PRIM["host_transfer_GBps"]["dpus_per_rank"]
    assert within(bench.host_bandwidth(rank, n) / 1e9, PRIM["host_transfer_GBps"]["cpu_to_dpu_rank_parallel"])


def test_parallel_transfers_scale_with_dpus_and_ranks_serial_ones_do_not(server):
    parallel = [bench.host_bandwidth(server, n) for n in (1, 4, 16, 64)]
    assert parallel == sorted(parallel) and parallel[-1] > 15 * parallel[0]
    assert bench.host_bandwidth(server, 128) == pytest.approx(2 * bench.host_bandwidth(server, 64), rel=0.01)
    serial = [bench.host_bandwidth(server, n, mode="serial") for n in (1, 64, 128, 2560)]
    assert serial == pytest.approx([serial[0]] * 4)


def test_ranks_on_one_ddr_channel_share_it(server):
    per_rank = bench.host_bandwidth(server, 64)
    all_ranks = bench.host_bandwidth(server, 2560)
    channels = 10  # 40 ranks, 4 per channel
    assert all_ranks == pytest.approx(min(40 * per_rank, channels * server.host.channel_bw), rel=0.01)


def test_a_host_copy_cap_limits_all_parallel_transfers_together():
    capped = load_device("upmem-server", sets=["host.host_bw=12GB/s"])
    assert bench.host_bandwidth(capped, 2560) == pytest.approx(12e9, rel=1e-6)


# -- GEMV ---------------------------------------------------------------------------------

def test_gemv_kernel_scales_with_dpus_while_the_transfer_share_grows(rank):
    runs = [bench.gemv(rank, 8192, 1024, n) for n in (1, 4, 16, 64)]
    for run in runs[1:]:
        speedup = runs[0].kernel_s / run.kernel_s
        assert speedup == pytest.approx(run.dpus, rel=0.1)
    shares = [r.transfer_share for r in runs]
    assert shares == sorted(shares) and shares[-1] > 2 * shares[0]


def test_gemv_transfers_dominate_once_the_host_copy_rate_stops_growing():
    capped = load_device("upmem-server", sets=["host.host_bw=12GB/s"])
    runs = [bench.gemv(capped, 163840, 4096, n) for n in (64, 256, 1024, 2048)]
    kernels = [r.kernel_s for r in runs]
    assert kernels[0] / kernels[-1] == pytest.approx(32, rel=0.1)
    assert runs[0].transfer_share < 0.5 < runs[-1].transfer_share


# -- device operators and config errors ----------------------------------------------------

def test_gemv_operator_on_the_device_uses_native_int8_multiplies(server, op):
    dev = Upmem("upmem", server)
    rows, cols = 8192, 8192
    int8 = op("gemv", m=1, n=rows, k=cols, weight_bits=8, activation_bits=8, weight_bytes=rows * cols,
              bytes_read=rows * cols + cols, bytes_written=rows, flops=2 * rows * cols)
    fp16 = op("gemv", m=1, n=rows, k=cols, weight_bits=16, activation_bits=16, weight_bytes=2 * rows * cols,
              bytes_read=2 * rows * cols + 2 * cols, bytes_written=2 * rows, flops=2 * rows * cols)
    t8, t16 = dev.breakdown(int8), dev.breakdown(fp16)
    assert t8.dpus == 2560 and t8.kernel_s * 10 < t16.kernel_s  # emulated FP32 MACs are far dearer
    assert t8.to_dpu_s > 0 and t8.from_dpu_s > 0


def test_capacity_is_mram_times_dpus(server):
    assert Upmem("u", server).capacity_bytes == 2560 * 64 * 2**20


@pytest.mark.parametrize("sets, key", [(["kernel_tasklets=30"], "kernel_tasklets"),
                                       (["issue_interval=20"], "issue_interval"),
                                       (["block_bytes=4KiB"], "block_bytes"),
                                       (["host.to_dpu_rank=100GB/s"], "host.to_dpu_rank")])
def test_impossible_settings_are_config_errors(sets, key):
    with pytest.raises(ConfigError) as err:
        dev = load_device("upmem-rank", sets=sets)
        Upmem("u", dev)
    assert key in err.value.one_line()


def test_attention_with_an_int8_kv_cache_uses_int8_multiplies(server, op):
    dev = Upmem("upmem", server)
    shape = dict(m=1, n=4096, k=128, heads=32, batch=8, flops=2 * 4096 * 128 * 32 * 8,
                 bytes_read=8 * 32 * 128 * 2, bytes_written=8 * 32 * 4096 * 2)
    int8 = dev.breakdown(op("attention_score", kv_bits=8, activation_bits=8, **shape))
    fp16 = dev.breakdown(op("attention_score", kv_bits=16, activation_bits=16, **shape))
    assert int8.kernel_s * 10 < fp16.kernel_s
