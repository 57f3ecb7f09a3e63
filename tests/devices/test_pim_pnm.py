"""Near-memory units, the PIM module interface, the CXL memory expander."""

import math

import pytest

from pimsim.core.errors import SimulationError
from pimsim.devices.cxl_memory import CxlMemory
from pimsim.devices.loading import load_device
from pimsim.devices.pim_module import PimModule, register_pim_timing
from pimsim.devices.pnm import Pnm


@pytest.fixture(scope="module")
def pnm():
    return Pnm("pnm", load_device("cent-pnm"))


def test_softmax_costs_cents_exponent_and_vector_passes_plus_per_head_steps(pnm, op):
    """CENT: L H / 16 / 32 x (EXP 44 + VEC 66) + H x SB_RD + H x RV_SFT_PIPELINE 17.25, at 2 GHz."""
    ctx, heads = 4096, 64
    s = op("softmax", m=1, n=ctx, heads=heads, batch=1, flops=5 * ctx * heads)
    assert pnm.compute_cycles(s) == pytest.approx(ctx * heads / 512 * (44 + 66) + heads * (1 + 17.25))
    assert pnm.cost_ps(s) == math.ceil(pnm.compute_cycles(s)) * 500


def test_rmsnorm_row_ends_with_the_26_cycle_inverse_square_root(pnm, op):
    """CENT: E / 256 / 32 vector passes of 66 cycles, SB_RD + SB_WR + 1 for the reduction, 26 on a core."""
    n = op("norm", m=1, n=8192, flops=4 * 8192)
    assert pnm.compute_cycles(n) == 8192 / 256 / 32 * 66 + 3 + 26


def test_rotary_spreads_three_cycles_per_element_over_eight_cores(pnm, op):
    assert pnm.compute_cycles(op("rope", m=2, n=9216)) == 2 * 9216 * 3 / 8


def test_pnm_does_no_matrix_products(pnm, op):
    with pytest.raises(SimulationError, match="cannot run 'gemv'"):
        pnm.execute(op("gemv"))


def test_pim_operators_need_a_pim_timing_model(op):
    dev = PimModule("pim0", load_device("cent-cxl-aim", sets=["memory=gddr6-aim"]))   # plain DRAM: no PIM model
    with pytest.raises(SimulationError, match="no PIM timing model"):
        dev.cost_ps(op("gemv", n=4096, k=4096))


class FixedPim:
    def __init__(self, config):
        self.config = config

    def cost_ps(self, op):
        return 1000 * op.n


def test_a_registered_pim_timing_is_used_by_name(op):
    register_pim_timing("test-fixed-pim")(FixedPim)
    dev = PimModule("pim0", load_device("cent-cxl-aim", sets=["pim_model=test-fixed-pim",
                                                               "controller_latency=5ns"]))
    assert dev.cost_ps(op("gemv", n=7)) == 7000 + 5000


def test_pim_module_routes_memory_and_elementwise_work(op):
    dev = PimModule("pim0", load_device("cent-cxl-aim"))
    read = op("kv_read", bytes_read=1024 * 2**20)
    assert dev.cost_ps(read) == pytest.approx(1024 * 2**20 / 1024e9 * 1e12, abs=1)
    soft = op("softmax", m=1, n=1024, heads=8, batch=1, flops=5 * 1024 * 8)
    assert dev.cost_ps(soft) == dev.pnm.cost_ps(soft)
    assert dev.capacity_bytes == 16 * 2**30


def test_attacc_module_has_no_near_memory_units(op):
    """AttAcc's softmax runs in the stacks' buffer dies (the PIM preset's unit); nothing else does."""
    from pimsim.pim import api

    dev = PimModule("attacc0", load_device("attacc-hbm3-pim"))
    soft = op("softmax", flops=5 * 2048 * 40, seq=2048, heads=40, batch=1)
    per_stack = api.softmax_time_ps("hbm3-pim", 2048, 8, 1)        # 40 heads over 5 stacks
    assert dev.cost_ps(soft) == per_stack
    with pytest.raises(SimulationError, match="no near-memory units"):
        dev.cost_ps(op("rope", flops=5))


def test_cxl_memory_access_adds_70_to_90_ns_over_local_dram():
    mem = CxlMemory("cxlmem0", load_device("cxl2-ddr5-expander"))
    extra_ns = (mem.access_ps(64) - mem.config.dram_latency) / 1000
    assert 70 <= extra_ns <= 90 + 1


def test_cxl_memory_bulk_reads_stream_at_media_bandwidth(op):
    mem = CxlMemory("cxlmem0", load_device("cxl2-ddr5-expander"))
    assert mem.cost_ps(op("kv_read", bytes_read=768 * 10**6)) == pytest.approx(180_000 + 1e10, abs=2)


def test_a_timing_registered_under_the_memory_preset_name_is_found(op):
    register_pim_timing("test-memory-name")(FixedPim)
    dev = PimModule("pim0", load_device("cent-cxl-aim", sets=["memory=test-memory-name"]))
    assert dev.cost_ps(op("gemv", n=3)) == 3000


def test_an_unknown_pim_model_name_is_a_config_error():
    from pimsim.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown PIM timing model 'nope'"):
        PimModule("pim0", load_device("cent-cxl-aim", sets=["pim_model=nope"]))
