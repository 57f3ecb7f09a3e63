"""NPU: weight-stationary tiling against hand-counted cycles, memory from its DRAM preset."""

import pytest

from pimsim.core.errors import ConfigError
from pimsim.devices.loading import load_device
from pimsim.devices.npu import Npu


@pytest.fixture(scope="module")
def npu():
    return Npu("npu", load_device("neupims-npu"))


def test_memory_comes_from_the_dram_preset(npu):
    assert npu.config.memory.peak_bw_Bps == 4 * 256e9
    assert npu.capacity_bytes == 4 * 8 * 2**30          # NeuPIMs' 32 GB: 4 stacks of neupims-hbm2


@pytest.mark.parametrize("m, n, k, count, expected", [
    # 2 x 2 = 4 tiles on 8 arrays: one round of (256 + 128 + 128 - 1) cycles, plus the first weight load
    (256, 256, 256, 1, 511 + 128),
    # 20 tiles: 3 rounds
    (64, 128 * 5, 128 * 4, 1, 3 * (64 + 255) + 128),
    # decode: m = 1 still pays fill and drain per tile
    (1, 128, 128, 16, 2 * (1 + 255) + 128),
])
def test_gemm_cycles_follow_weight_stationary_tiling(npu, m, n, k, count, expected):
    assert npu.gemm_cycles(m, n, k, count) == expected


def test_without_double_buffering_each_tile_loads_its_weights_first():
    single = Npu("npu", load_device("neupims-npu", sets=["weight_double_buffer=false"]))
    assert single.gemm_cycles(256, 256, 256) == 511 + 128


def test_large_gemm_approaches_the_peak(npu, op):
    m = n = k = 8192
    g = op("gemm", m=m, n=n, k=k, flops=2 * m * n * k, bytes_read=2 * (n * k + m * k), bytes_written=2 * m * n)
    t = npu.breakdown(g)
    peak = 2 * 8 * 128 * 128 * 1e9
    assert g.flops / t.compute_s > 0.95 * peak


def test_decode_gemv_is_memory_bound(npu, op):
    g = op("gemv", m=1, n=4096, k=4096, flops=2 * 4096 * 4096, bytes_read=2 * 4096 * 4096, bytes_written=8192)
    t = npu.breakdown(g)
    assert t.memory_s > t.compute_s
    efficiency = npu.config.memory.efficiency
    assert npu.cost_ps(g) == pytest.approx((2 * 4096 * 4096 + 8192) / (1024e9 * efficiency) * 1e12, abs=1)


def test_vector_operators_run_on_the_vector_units(npu, op):
    s = op("softmax", m=1, n=2048, heads=32, batch=64, flops=5 * 2048 * 32 * 64)
    assert npu.breakdown(s).compute_cycles == -(-s.flops // (8 * 128))


def test_attention_on_the_npu_tiles_every_head_separately(op):
    batched = Npu("npu", load_device("neupims-npu", sets=["serial_attention=false"]))
    score = op("attention_score", m=1, n=2048, k=128, heads=32, batch=4, flops=2 * 2048 * 128 * 32 * 4)
    assert batched.breakdown(score).compute_cycles == batched.gemm_cycles(1, 2048, 128, 32 * 4)


def test_activations_larger_than_sram_are_read_again(op):
    small = Npu("npu", load_device("neupims-npu", sets=["sram=1MiB"]))
    m, n, k = 4096, 4096, 4096
    g = op("gemm", m=m, n=n, k=k, flops=2 * m * n * k, bytes_read=2 * (n * k + m * k), bytes_written=2 * m * n)
    assert small.breakdown(g).memory_s > Npu("npu", load_device("neupims-npu")).breakdown(g).memory_s


def test_unknown_dram_preset_names_the_key():
    with pytest.raises(ConfigError, match="memory.preset"):
        load_device("neupims-npu", sets=["memory.preset=hbm9"])
