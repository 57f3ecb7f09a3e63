"""Operators of a real decode trace on every device model, and a tensor-parallel all-reduce on NVLink."""

import math

import pytest

from pimsim.devices.gpu import Gpu
from pimsim.devices.loading import load_device
from pimsim.devices.npu import Npu
from pimsim.devices.pim_module import PimModule
from pimsim.devices.upmem import Upmem
from pimsim.system import build_system
from pimsim.trace import Scenario, generate


@pytest.fixture(scope="module")
def layer():
    trace = generate("llama2-7b", Scenario(phase="decode", batch=4, context_tokens=1024, output_tokens=1))
    return list(trace.where(layer=0))


@pytest.mark.parametrize("make", [lambda: Gpu("gpu", load_device("a100-80gb")),
                                  lambda: Npu("npu", load_device("neupims-npu")),
                                  lambda: Upmem("upmem", load_device("upmem-server")),
                                  lambda: PimModule("pim", load_device("cent-cxl-aim"))],
                         ids=["gpu", "npu", "upmem", "cent-device"])
def test_every_supported_operator_of_a_layer_has_a_positive_cost(make, layer):
    device = make()
    costs = {op.name: device.cost_ps(op) for op in layer
             if op.kind in device.supported_ops and not (device.kind == "pim-module" and op.kind in
                                                         ("gemm", "gemv", "attention_score", "attention_context"))}
    assert costs and all(c > 0 for c in costs.values())


def test_decode_layer_on_a100_is_memory_bound(layer):
    gpu = Gpu("gpu", load_device("a100-80gb"))
    products = [op for op in layer if op.kind in ("gemm", "gemv")]
    assert all(gpu.breakdown(op).bound == "memory" for op in products)


def test_upmem_splits_short_matrices_over_all_tasklets(op):
    dev = Upmem("u", load_device("upmem-rank"))
    few = op("gemv", m=1, n=4 * 64, k=16384, weight_bits=8, activation_bits=8, weight_bytes=4 * 64 * 16384,
             bytes_read=4 * 64 * 16384, flops=2 * 4 * 64 * 16384)      # 4 rows per DPU
    many = op("gemv", m=1, n=16 * 64, k=4096, weight_bits=8, activation_bits=8, weight_bytes=16 * 64 * 4096,
              bytes_read=16 * 64 * 4096, flops=2 * 16 * 64 * 4096)     # same work, 16 rows per DPU
    assert dev.breakdown(few).kernel_s == pytest.approx(dev.breakdown(many).kernel_s, rel=0.1)


def test_tensor_parallel_allreduce_operator_runs_as_a_ring_on_nvlink():
    trace = generate("llama2-70b", Scenario(phase="decode", batch=8, context_tokens=512, output_tokens=1,
                                            tensor_parallel=8))
    ar = next(iter(trace.where(kind="allreduce", layer=0)))
    dgx = build_system("dgx-a100")
    dgx.env.run(dgx.allreduce("gpu", ar))
    volume = ar.m * ar.n * 2
    step_overhead = dgx.device("gpu0").config.collective_overhead        # NCCL time per ring step
    assert dgx.env.now == pytest.approx(14 * (math.ceil(volume / 8) / 300e9 * 1e12 + step_overhead), rel=1e-3)
    moved = sum(s.bytes for (u, _), s in dgx.network.stats.items() if u == "gpu0")
    assert moved == pytest.approx(ar.bytes_read, rel=0.01)
