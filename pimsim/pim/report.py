"""``pimsim kernel``: run one PIM kernel and describe the result (table or JSON)."""

from __future__ import annotations

import re
import time

from pimsim.core.errors import ConfigError
from pimsim.core.units import format_time_ps
from pimsim.pim import api
from pimsim.pim.spec import load_pim

KERNELS = ("gemv", "add", "mul", "attention", "score", "context")
SHAPES = {"gemv": "MxK", "add": "N", "mul": "N", "attention": "LxHxD", "score": "LxHxD", "context": "LxHxD"}


def parse_shape(kernel: str, text: str) -> list[int]:
    """``"4096x4096"`` -> [4096, 4096]; the number of dimensions depends on the kernel."""
    want = SHAPES[kernel].count("x") + 1
    parts = re.split(r"[xX*,]", str(text).strip())
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        dims = []
    if len(dims) != want or any(d < 1 for d in dims):
        raise ConfigError(f"{kernel} takes {SHAPES[kernel]} (positive integers), got '{text}'",
                          "--shape")
    return dims


def run_kernel(kernel: str, device: str, shape: str, channels=None, fidelity: str | None = None, batch: int = 1,
               refresh=None, sets=()) -> dict:
    """Run ``kernel`` on ``device`` and return the result as a flat dict (plus rates and CPU time)."""
    if kernel not in KERNELS:
        raise ConfigError(f"unknown kernel '{kernel}'; valid: {', '.join(KERNELS)}")
    spec = load_pim(device, sets) if sets else api.device(device)
    dims = parse_shape(kernel, shape)
    start = time.process_time()
    if kernel == "gemv":
        result = api.gemv(spec, dims[0], dims[1], batch, channels, fidelity, refresh)
    elif kernel in ("add", "mul"):
        result = api.elementwise(spec, kernel, dims[0], channels, fidelity, refresh)
    else:
        fn = {"attention": api.attention, "score": api.attention_score, "context": api.attention_context}[kernel]
        result = fn(spec, dims[0], dims[1], dims[2], batch, None, channels, fidelity, refresh)
    cpu = time.process_time() - start
    out = result.to_dict()
    seconds = result.time_ps * 1e-12
    out["data_bandwidth_GBps"] = result.bytes["data"] / seconds / 1e9 if seconds else 0.0
    out["array_bandwidth_GBps"] = result.bytes["array_read"] / seconds / 1e9 if seconds else 0.0
    out["mac_utilisation"] = result.macs / seconds / spec.peak_macs_per_s() if seconds else 0.0
    out["peak_TFLOPS"] = 2 * spec.peak_macs_per_s() / 1e12
    out["cpu_s"] = round(cpu, 4)
    return out


def kernel_text(r: dict) -> str:
    """The human-readable summary ``pimsim kernel`` prints."""
    shape = " ".join(f"{k}={v}" for k, v in r["shape"].items())
    energy = ", ".join(f"{k} {v * 1e6:.3g}" for k, v in r["energy_by_component_J"].items() if v)
    rows = [
        ("kernel", f"{r['kernel']} ({shape}) on {r['device']}, {r['channels']} channel(s), {r['fidelity']} level"),
        ("time", f"{r['cycles']:,} cycles = {format_time_ps(r['time_ps'])}"),
        ("bandwidth", f"{r['data_bandwidth_GBps']:.1f} GB/s of operands, {r['array_bandwidth_GBps']:.1f} GB/s read "
                      "from the bank arrays"),
        ("utilisation", f"{100 * r['mac_utilisation']:.1f}% of the {r['peak_TFLOPS']:.2f} TFLOPS MAC peak "
                        f"({r['macs']:,} multiply-adds)"),
        ("energy", f"{r['energy_J'] * 1e6:.4g} uJ ({energy} uJ)"),
        ("commands", ", ".join(f"{k} {v:,}" for k, v in r["commands"].items())),
        ("refresh", f"{r['refreshes']:,} REF"),
        ("simulation", f"{r['cpu_s']:.3f} CPU-s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
