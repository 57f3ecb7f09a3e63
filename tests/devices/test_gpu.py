"""GPU roofline against its formula, presets against their datasheets, capacity errors."""

import math

import pytest
import simpy

from pimsim.core.errors import CapacityError, ConfigError, SimulationError
from pimsim.devices.gpu import Gpu
from pimsim.devices.host import Host
from pimsim.devices.loading import load_device


@pytest.fixture(scope="module")
def a100():
    """The A100 preset with its kernel-level factors (AttAcc's SM occupancy) left as given."""
    return load_device("a100-80gb")


U = 0.889     # a100-80gb: decode GEMVs occupy 96 of 108 SMs (AttAcc)


def oracle_ps(flops, nbytes, peak, bw, ce=0.8, me=0.85, util=1.0, launch_ps=0):
    return launch_ps + math.ceil(max(flops / (peak * ce * util), nbytes / (bw * me * util)) * 1e12)


def gemm(op, m, n, k, bits=16):
    b = bits // 8
    return op("gemm", m=m, n=n, k=k, weight_bits=bits, activation_bits=bits, flops=2 * m * n * k,
              bytes_read=b * (k * n + m * k), weight_bytes=b * k * n, bytes_written=b * m * n)


def test_compute_bound_gemm_takes_flops_over_derated_peak(a100, op):
    g = gemm(op, 4096, 8192, 8192)
    assert Gpu("g", a100).cost_ps(g) == pytest.approx(
        oracle_ps(g.flops, g.bytes_read + g.bytes_written, 312e12, 2039e9, util=U), abs=1)
    assert a100.efficiency.utilisation == U and a100.launch_overhead == 0
    assert Gpu("g", a100).breakdown(g).bound == "compute"


def test_memory_bound_gemv_takes_bytes_over_derated_bandwidth(a100, op):
    g = gemm(op, 1, 8192, 8192)
    got = Gpu("g", a100).cost_ps(g)
    assert got == pytest.approx(math.ceil((g.bytes_read + g.bytes_written) / (2039e9 * 0.85 * U) * 1e12), abs=1)
    assert Gpu("g", a100).breakdown(g).bound == "memory"


def test_efficiency_factors_are_parameters_not_constants(op):
    g = gemm(op, 4096, 8192, 8192)
    slow = load_device("a100-80gb", sets=["efficiency.compute=0.4", "efficiency.utilisation=0.5",
                                          "launch_overhead=0ns"])
    assert Gpu("g", slow).cost_ps(g) == pytest.approx(oracle_ps(g.flops, 0, 312e12, 2039e9, ce=0.4, util=0.5), abs=1)


def test_attacc_a100a_is_the_a100_with_hbm3_and_no_launch_cost(op):
    a = load_device("a100-hbm3-attacc")
    assert (a.memory_bw, a.peak.fp16, a.launch_overhead) == (3352e9, 312e12, 0)
    assert (a.efficiency.compute, a.efficiency.memory) == (0.8, 0.85)
    g = gemm(op, 1, 12288, 12288)
    assert a.efficiency.utilisation == pytest.approx(96 / 108, abs=1e-3)   # AttAcc's decode SM occupancy
    assert Gpu("g", a).cost_ps(g) == oracle_ps(g.flops, g.bytes_read + g.bytes_written, 312e12, 3352e9,
                                               util=a.efficiency.utilisation)
    norm = op("norm", m=16, n=12288, flops=5 * 16 * 12288, bytes_read=2 * 16 * 12288, bytes_written=2 * 16 * 12288)
    assert Gpu("g", a).cost_ps(norm) == oracle_ps(norm.flops, norm.bytes_read + norm.bytes_written, 19.5e12,
                                                  3352e9, util=a.efficiency.utilisation, launch_ps=6_870_000)


@pytest.mark.parametrize("name, bw, fp16, capacity", [("a100-80gb", 2039e9, 312e12, 80 * 2**30),
                                                     ("h100-sxm", 3350e9, 989e12, 80 * 2**30)])
def test_presets_carry_datasheet_numbers(name, bw, fp16, capacity):
    c = load_device(name)
    assert (c.memory_bw, c.peak.fp16, c.memory_capacity) == (bw, fp16, capacity)
    assert c.source


def test_int8_products_run_at_the_int8_peak(a100, op):
    g8 = gemm(op, 4096, 8192, 8192, bits=8)
    assert Gpu("g", a100).breakdown(g8).compute_s == pytest.approx(g8.flops / (624e12 * 0.8 * U))


def test_elementwise_operators_use_the_vector_peak(a100, op):
    soft = op("softmax", m=1, n=4096, heads=64, batch=8, flops=5 * 4096 * 64 * 8 * 1000)
    assert Gpu("g", a100).breakdown(soft).compute_s == pytest.approx(soft.flops / (19.5e12 * 0.8 * U))
    assert Gpu("g", a100).breakdown(soft).launch_s == 0                    # no floor for softmax
    norm = op("norm", m=8, n=4096, flops=5 * 8 * 4096, bytes_read=2 * 8 * 4096)
    assert Gpu("g", a100).breakdown(norm).launch_s == pytest.approx(6.87e-6)   # measured floor (AttAcc)


def test_a_precision_without_a_peak_is_a_config_error():
    with pytest.raises(ConfigError, match="precision_by_bits.8.*peak.fp8"):
        load_device("a100-80gb", sets=["precision_by_bits.8=fp8"])


def test_collectives_are_not_gpu_kernels(a100, op):
    with pytest.raises(SimulationError, match="cannot run 'allreduce'"):
        Gpu("gpu0", a100).execute(op("allreduce", bytes_read=1024))


def test_operators_queue_on_one_gpu(a100, op):
    env = simpy.Environment()
    gpu = Gpu("gpu0", a100, env)
    g = gemm(op, 1, 8192, 8192)
    first, second = gpu.execute(g), gpu.execute(g)
    env.run(env.all_of([first, second]))
    assert env.now == 2 * gpu.cost_ps(g)
    assert gpu.stats.ops == 2 and gpu.stats.busy_ps == env.now and gpu.stats.flops == 2 * g.flops


def test_data_larger_than_hbm_is_a_capacity_error(a100):
    gpu = Gpu("gpu3", a100)
    gpu.allocate(70 * 2**30, "weights")
    with pytest.raises(CapacityError) as err:
        gpu.allocate(20 * 2**30, "kv cache")
    line = err.value.one_line()
    assert "gpu3" in line and "kv cache needs 20 GiB" in line and "10 GiB free of 80 GiB" in line
    gpu.free("weights")
    gpu.allocate(20 * 2**30, "kv cache")


def test_host_runs_operators_and_samples_tokens(op):
    host = Host("host", load_device("cent-host"))
    assert host.sampling_ps(10) == 10 * 150_000_000
    n = op("norm", m=1, n=8192, flops=4 * 8192, bytes_read=2 * 8192, bytes_written=2 * 8192)
    assert host.cost_ps(n) == math.ceil(max(n.flops / (5.888e12 * 0.5), 4 * 8192 / (204.8e9 * 0.7)) * 1e12)
