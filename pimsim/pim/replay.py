"""``pimsim replay --format aim``: an AiM instruction trace (CENT's format) on a GDDR6-AiM device.

The trace runs through the AiM DMA and channel controllers at command level
(:mod:`pimsim.pim.aim_system`). With ``--refresh none`` the run makes the same
assumptions as CENT's simulator (which never refreshes), so its cycle count is
comparable with that simulator's ``memory_system_cycles``.
"""

from __future__ import annotations

import time
from pathlib import Path

from pimsim.core.errors import ConfigError
from pimsim.pim.aim_system import AimSystem
from pimsim.pim.isr import read_isr_trace
from pimsim.pim.result import energy_by_component
from pimsim.pim.spec import load_pim

DEFAULT_DEVICE = "gddr6-aim-pim"


def replay_aim(trace, device: str = DEFAULT_DEVICE, refresh: str | None = None, sets=()) -> dict:
    """Replay AiM trace ``trace`` on PIM preset ``device``; the result as a flat dict."""
    if trace is None:
        raise ConfigError("--format aim needs a TRACE file")
    spec = load_pim(device, sets)
    if spec.arch.architecture != "aim":
        raise ConfigError(f"'{device}' is a {spec.arch.architecture} PIM device; AiM traces need a GDDR6-AiM "
                          f"preset such as {DEFAULT_DEVICE}", "--device")
    isrs = read_isr_trace(trace)
    mode = refresh or spec.refresh_mode
    start = time.process_time()
    system = AimSystem(spec.tables(), isrs, refresh=mode == "all-bank")
    ticks = system.run()
    cpu = time.process_time() - start
    counts, _ = system.totals()
    counts = {k: v for k, v in counts.items() if v}
    time_ps = ticks * spec.dram.clock.tCK
    active = sum(c.weight for c in system.channels if any(c.state.counts))
    energy = energy_by_component(spec, counts, time_ps, active)
    return {"format": "aim", "trace": str(Path(trace)), "device": spec.name, "instructions": len(isrs),
            "cycles": ticks, "time_ps": time_ps, "time_ns": time_ps / 1000, "refresh": mode,
            "channels_active": active, "commands": counts, "energy_J": sum(energy.values()),
            "energy_by_component_J": energy, "cpu_s": round(cpu, 3),
            "instructions_per_cpu_s": round(len(isrs) / cpu) if cpu > 0 else None}


def aim_summary_text(r: dict) -> str:
    """The table ``pimsim replay --format aim`` prints."""
    rows = [
        ("trace", r["trace"]), ("device", f"{r['device']} (refresh {r['refresh']})"),
        ("instructions", f"{r['instructions']:,}"),
        ("time", f"{r['cycles']:,} cycles = {r['time_ns']:,.1f} ns (until EOC completes in every channel)"),
        ("channels", f"{r['channels_active']} active"),
        ("commands", ", ".join(f"{k} {v:,}" for k, v in r["commands"].items())),
        ("energy", f"{r['energy_J'] * 1e6:.4g} uJ"),
        ("simulation", f"{r['cpu_s']:.2f} CPU-s, {r['instructions_per_cpu_s'] or 0:,} instructions per CPU-second"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
