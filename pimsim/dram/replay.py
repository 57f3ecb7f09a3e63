"""``pimsim replay``: run a memory trace through the command-level DRAM model."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from pimsim.core.errors import ConfigError
from pimsim.core.io import atomic_write_text
from pimsim.core.presets import PROJECT_ROOT
from pimsim.dram.memory import MemorySystem
from pimsim.dram.spec import load_dram
from pimsim.dram.tracefile import read_trace

DEFAULT_TRACE = PROJECT_ROOT / "traces" / "hbm3_decode_mix.trace"
DEFAULT_DEVICE = "hbm3-6400"


def replay(trace=None, device: str = DEFAULT_DEVICE, fmt: str = "auto", mapping: str | None = None,
           refresh: str | None = None, sets=(), width: int | None = None) -> dict:
    """Replay ``trace`` on ``device``; return the result as a flat dict (metrics + run info)."""
    if fmt == "aim":
        from pimsim.pim.replay import DEFAULT_DEVICE as AIM_DEVICE, replay_aim

        return replay_aim(trace, AIM_DEVICE if device == DEFAULT_DEVICE else device, refresh, sets)
    trace = Path(trace) if trace else DEFAULT_TRACE
    overrides = {}
    if refresh:
        overrides.setdefault("controller", {})["refresh"] = refresh
    if mapping:
        overrides.setdefault("controller", {})["mapping"] = mapping
    spec = load_dram(device, sets=sets, overrides=overrides)
    batch = read_trace(trace, spec, fmt)
    if width is not None and width < 1:
        raise ConfigError(f"--width must be at least 1, got {width}")
    start = time.process_time()
    result = MemorySystem(spec).replay(batch, width=width)
    cpu_s = time.process_time() - start
    out = {"trace": str(trace), **result.to_dict(), "mapping": spec.controller.mapping,
           "refresh": spec.controller.refresh, "cpu_s": round(cpu_s, 3),
           "requests_per_cpu_s": round(len(batch) / cpu_s) if cpu_s > 0 else None}
    return out


def summary_text(r: dict) -> str:
    """The human-readable table ``pimsim replay`` prints."""
    if r.get("format") == "aim":
        from pimsim.pim.replay import aim_summary_text

        return aim_summary_text(r)
    pct = 100 * r["bandwidth_GBps"] / r["peak_bandwidth_GBps"] if r["peak_bandwidth_GBps"] else 0
    served = r["row_hits"] + r["row_misses"] + r["row_conflicts"]
    rows = [
        ("trace", r["trace"]), ("device", f"{r['device']} (mapping {r['mapping']}, refresh {r['refresh']})"),
        ("requests", f"{r['requests']:,} ({r['reads']:,} reads, {r['writes']:,} writes)"),
        ("time", f"{r['cycles']:,} cycles = {r['time_ps'] / 1e3:,.1f} ns"),
        ("bandwidth", f"{r['bandwidth_GBps']:.2f} GB/s ({pct:.1f}% of {r['peak_bandwidth_GBps']:.1f} GB/s peak, "
                      f"{r['channels_used']} channel(s) used)"),
        ("row buffer", f"{r['row_hits']:,} hits, {r['row_misses']:,} misses, {r['row_conflicts']:,} conflicts"
                       + (f" ({100 * r['row_hits'] / served:.1f}% hits)" if served else "")),
        ("read latency", f"mean {r['read_latency_mean_ns']:.1f} ns, p50 {r['read_latency_p50_ns']:.1f} ns, "
                         f"p99 {r['read_latency_p99_ns']:.1f} ns"),
        ("commands", ", ".join(f"{k} {v:,}" for k, v in r["commands"].items() if v)),
        ("refresh", f"{r['refreshes']:,} REF issued of {r['refresh_requests']:,} due"),
        ("bank busy", f"mean {100 * r['bank_busy_mean']:.1f}%, max {100 * r['bank_busy_max']:.1f}% of the run"),
        ("simulation", f"{r['cpu_s']:.2f} CPU-s, {r['requests_per_cpu_s'] or 0:,} requests per CPU-second"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _flat(r: dict) -> dict:
    out = {k: v for k, v in r.items() if k != "commands"}
    out.update({f"cmd_{k}": v for k, v in r["commands"].items()})
    return out


def write_result(r: dict, path) -> Path:
    """Write ``r`` to ``path`` as CSV (one header row + one value row) or JSON, atomically."""
    path = Path(path)
    if path.suffix == ".json":
        return atomic_write_text(path, json.dumps(r, indent=2) + "\n")
    if path.suffix == ".csv":
        flat = _flat(r)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(flat))
        writer.writeheader()
        writer.writerow(flat)
        return atomic_write_text(path, buf.getvalue())
    raise ConfigError(f"-o takes a .csv or .json file, got '{path.name}'")
