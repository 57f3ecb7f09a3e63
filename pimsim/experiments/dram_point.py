"""Point kind ``dram-replay``: a memory trace replayed on a DRAM device at command level.

The point's configuration (sweep paths reach inside ``device``)::

    trace: ../../traces/hbm3_decode_mix.trace   # relative to the sweep file; default: the sample
    format: auto                                # auto, loadstore, readwrite, vector, pimsim
    device: {preset: hbm3-6400, timing_cycles: {tRCD_RD: 36}, controller: {mapping: MOP4CLXOR}}
    mapping: null      # shorthands for device.controller.mapping / .refresh, as in pimsim replay
    refresh: null
    width: null        # requests offered per cycle (default: until one is refused)

The device preset is resolved in the planning process (presets, overrides,
validation) and shipped to the worker as plain data; the trace is shipped as a
path with its SHA-256, checked before the replay. Metrics are those of
``pimsim replay`` except the CPU time, which is not deterministic.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from pimsim.core import presets
from pimsim.core.config import build, deep_merge, param
from pimsim.core.errors import ConfigError, TraceError
from pimsim.dram.replay import DEFAULT_DEVICE, DEFAULT_TRACE
from pimsim.dram.tracefile import FORMATS
from pimsim.experiments.kinds import PointKind, Prepared
from pimsim.results.metrics import metric

COMMANDS = ("ACT", "PRE", "PREA", "RD", "WR", "RDA", "WRA", "REF")
_METRICS = {
    "requests": ("requests", "memory requests in the trace"),
    "reads": ("requests", "read requests"), "writes": ("requests", "write requests"),
    "cycles": ("cycles", "command-clock cycles until the last data beat"),
    "time_ps": ("ps", "simulated time until the last data beat"),
    "bytes": ("B", "bytes transferred"),
    "bandwidth_GBps": ("GB/s", "bytes transferred per simulated second"),
    "peak_bandwidth_GBps": ("GB/s", "the device's peak data bandwidth"),
    "row_hits": ("requests", "requests served from an open row"),
    "row_misses": ("requests", "requests that opened a row in a closed bank"),
    "row_conflicts": ("requests", "requests that closed another row first"),
    "refreshes": ("commands", "REF commands issued"),
    "refresh_requests": ("refreshes", "refreshes that fell due"),
    "read_latency_mean_ns": ("ns", "mean read latency, arrival to last data beat"),
    "read_latency_p50_ns": ("ns", "median read latency"),
    "read_latency_p99_ns": ("ns", "99th-percentile read latency"),
    "forwarded_reads": ("requests", "reads served from the write queue"),
    "coalesced_writes": ("requests", "writes merged into a queued write"),
    "bank_busy_mean": ("fraction", "mean fraction of the run a bank had a row open (or precharged)"),
    "bank_busy_max": ("fraction", "largest such fraction over banks"),
    "channels_used": ("channels", "channels that served at least one request"),
    **{f"cmd_{c}": ("commands", f"{c} commands issued") for c in COMMANDS},
}
for _name, (_unit, _doc) in _METRICS.items():
    metric(_name, _unit, _doc)


@dataclasses.dataclass(frozen=True)
class DramReplayConfig:
    """One ``dram-replay`` point."""

    trace: str = param("memory trace file, relative to the sweep file (empty: the built-in sample)", default="")
    format: str = param("trace format", default="auto", choices=FORMATS)
    device: dict[str, Any] = param("DRAM device: {preset: NAME, <field>: <override>, ...}",
                                   default={"preset": DEFAULT_DEVICE})
    mapping: str | None = param("address mapping (shorthand for device.controller.mapping)", default=None)
    refresh: str | None = param("refresh mode (shorthand for device.controller.refresh)", default=None,
                                choices=(None, "all-bank", "none"))
    width: int | None = param("requests the frontend offers per cycle", default=None, minimum=1)


class DramReplay(PointKind, kind="dram-replay"):
    """A memory trace replayed on a DRAM device by the command-level model."""

    def normalise(self, raw: dict) -> dict:
        """``device: NAME`` -> ``{preset: NAME}``; overrides without a preset apply to the default device."""
        device = raw.get("device", DEFAULT_DEVICE)
        if isinstance(device, str):
            device = {"preset": device}
        elif isinstance(device, dict) and "preset" not in device and "kind" not in device:
            device = {"preset": DEFAULT_DEVICE, **device}
        return {**raw, "device": device}

    def prepare(self, raw: dict, base_dir: Path, seed: int) -> Prepared:
        cfg = build(DramReplayConfig, self.normalise(raw), "point:")
        device = resolve_device(cfg)
        spec = _spec(device)
        trace = _trace_path(cfg.trace, base_dir)
        digest = file_sha256(trace)
        check_trace(str(trace), digest, cfg.format, spec)
        identity = {"device": device, "trace_sha256": digest, "format": cfg.format, "width": cfg.width}
        task = {**identity, "trace": str(trace)}
        return Prepared(task=task, resolved={"device": device, "trace": {"path": str(trace), "sha256": digest}},
                        identity=identity)

    def run(self, task: dict, seed: int) -> dict:
        from pimsim.dram.memory import MemorySystem
        from pimsim.dram.tracefile import read_trace

        spec = _spec(task["device"])
        if file_sha256(Path(task["trace"])) != task["trace_sha256"]:
            raise TraceError("trace file changed since the sweep was planned", task["trace"])
        result = MemorySystem(spec).replay(read_trace(task["trace"], spec, task["format"]),
                                           width=task["width"]).to_dict()
        out = {k: result[k] for k in _METRICS if k in result}
        out.update({f"cmd_{c}": result["commands"].get(c, 0) for c in COMMANDS})
        return out


def resolve_device(cfg: DramReplayConfig) -> dict:
    """The device preset chain merged with the point's overrides, as plain data."""
    device = dict(cfg.device)
    if "preset" not in device and device.get("kind") != "dram":
        raise ConfigError("give a preset name (device: {preset: hbm3-6400}) or a full device with kind: dram",
                          "point: device")
    resolved = presets.resolve(device, "devices", "point: device")
    controller = {k: v for k, v in (("mapping", cfg.mapping), ("refresh", cfg.refresh)) if v is not None}
    if controller:
        resolved = deep_merge(resolved, {"controller": controller})
    if resolved.get("kind") != "dram":
        raise ConfigError(f"'{device.get('preset')}' is a '{resolved.get('kind')}' preset, not a DRAM device",
                          "point: device")
    return resolved


def _spec(device: dict):
    from pimsim.dram.spec import DramSpec

    return build(DramSpec, device, "point: device:")


def _trace_path(trace: str, base_dir: Path) -> Path:
    if not trace:
        return DEFAULT_TRACE
    path = Path(trace)
    path = path if path.is_absolute() else Path(base_dir) / path
    if not path.is_file():
        raise ConfigError(f"trace file not found: {path}", "point: trace")
    return path.resolve()


def file_sha256(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise TraceError(f"cannot read trace: {exc.strerror or exc}", str(path)) from None


def check_trace(path: str, digest: str, fmt: str, spec) -> None:
    """Parse each distinct trace once while planning, so a malformed one stops the sweep before it starts."""
    key = (path, digest, fmt, spec.capacity_bytes)
    if key in _checked_keys:
        return
    from pimsim.dram.tracefile import read_trace

    read_trace(path, spec, fmt)
    _checked_keys.add(key)


_checked_keys: set = set()
