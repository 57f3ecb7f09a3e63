"""A DRAM device preset: organisation, clock, timing table and controller settings.

Presets live in ``devices/*.yaml`` with ``kind: dram``. Timing values are given
in clock cycles (``timing_cycles``, the way JEDEC tables and Ramulator list them)
or as times (``timing``, rounded up to whole cycles). Loading checks that the
table is complete for the device's protocol family and physically possible.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from pimsim.core import presets
from pimsim.core.config import apply_sets, build, param
from pimsim.core.errors import ConfigError, did_you_mean
from pimsim.dram.family import LEVEL_FIELDS, Family, evaluate, load_family


@dataclasses.dataclass(frozen=True)
class Organisation:
    """How one device's storage is divided."""

    channels: int = param("Independent channels per device (stack)", minimum=1)
    bank_groups: int = param("Bank groups per pseudo-channel / rank", minimum=1)
    banks: int = param("Banks per bank group", minimum=1)
    rows: int = param("Rows per bank", minimum=1)
    columns: int = param("Column addresses per row, each bus_width wide", minimum=1)
    bus_width: int = param("Data bus width of one pseudo-channel (or channel)", unit="bits", minimum=1)
    burst_length: int = param("Data beats per column access (BL)", minimum=1)
    pseudo_channels: int = param("Pseudo-channels per channel (HBM)", default=1, minimum=1)
    stack_ids: int = param("Stack IDs per pseudo-channel (HBM3 8-high and taller)", default=1, minimum=1)
    ranks: int = param("Ranks per channel", default=1, minimum=1)
    row_size: int | None = param("Row size; checked against columns x bus_width if given", unit="size",
                                 default=None)

    def __post_init__(self):
        if self.columns % self.burst_length:
            raise ConfigError(f"columns ({self.columns}) is not a multiple of burst_length ({self.burst_length})",
                              "columns")
        if self.row_size is not None and self.row_size != self.row_bytes:
            raise ConfigError(f"row_size is {self.row_size} B but columns x bus_width gives {self.row_bytes} B",
                              "row_size")

    @property
    def access_bytes(self) -> int:
        """Bytes moved by one RD or WR (bus width x burst length)."""
        return self.bus_width * self.burst_length // 8

    @property
    def accesses_per_row(self) -> int:
        return self.columns // self.burst_length

    @property
    def row_bytes(self) -> int:
        return self.columns * self.bus_width // 8


@dataclasses.dataclass(frozen=True)
class ClockConfig:
    """The command clock."""

    tCK: int = param("Command clock period", unit="time", minimum=1)


@dataclasses.dataclass(frozen=True)
class ControllerConfig:
    """Memory controller settings paired with the device (override per run with --set)."""

    read_queue: int = param("Read request queue entries per channel", default=32, minimum=1)
    write_queue: int = param("Write request queue entries per channel", default=32, minimum=1)
    write_high_watermark: float = param("Start draining writes above this fill fraction", default=0.8)
    write_low_watermark: float = param("Stop draining writes below this fill fraction", default=0.2)
    row_policy: str = param("open: keep rows open; closed: auto-precharge when no queued hit",
                            default="open", choices=("open", "closed"))
    refresh: str = param("Refresh mode", default="all-bank", choices=("all-bank", "none"))
    mapping: str = param("Address mapping name (Ramulator names)", default="RoBaRaCoCh")
    channel_interleave: int = param("Bytes per channel before moving to the next channel", unit="size",
                                    default="32B", minimum=1)

    def __post_init__(self):
        if not 0 <= self.write_low_watermark < self.write_high_watermark <= 1:
            raise ConfigError("need 0 <= write_low_watermark < write_high_watermark <= 1",
                              "write_low_watermark")


@dataclasses.dataclass(frozen=True)
class DramSpec:
    """A DRAM part: what it is, where its numbers come from, and the numbers."""

    kind: str = param("Always 'dram'", choices=("dram",))
    name: str = param("Preset name")
    source: str = param("Datasheet, JEDEC standard or paper the numbers come from")
    standard: str = param("Protocol family (rules in pimsim/dram/families)")
    organisation: Organisation = param("Storage organisation")
    clock: ClockConfig = param("Command clock")
    data_rate: float = param("Data rate per pin", unit="rate")
    timing_cycles: dict[str, int] = param("Timing parameters in command-clock cycles", default={})
    timing: dict[str, str] = param("Timing parameters as times, rounded up to cycles", default={})
    controller: ControllerConfig = param("Memory controller settings", default={})
    description: str = param("One-line description", default="")

    def __post_init__(self):
        try:
            fam = load_family(self.standard)
        except ConfigError as exc:
            raise ConfigError(exc.message, "standard") from None
        object.__setattr__(self, "family", fam)
        object.__setattr__(self, "cycles", self._resolve_cycles(fam))
        self._check_levels(fam)
        self._check_invariants()

    # -- resolution -----------------------------------------------------
    def _resolve_cycles(self, fam: Family) -> dict[str, int]:
        known = list(fam.timings) + list(fam.optional_timings)
        cycles: dict[str, int] = {}
        for key, value in self.timing_cycles.items():
            cycles[key] = value
        for key, text in self.timing.items():
            from pimsim.core.units import parse_time_ps

            ps = parse_time_ps(text, f"timing.{key}")
            cycles[key] = math.ceil(ps / self.clock.tCK)
        for key, value in cycles.items():
            where = f"timing_cycles.{key}"
            if key not in known:
                raise ConfigError(f"unknown timing parameter '{key}' for {fam.family}{did_you_mean(key, known)}",
                                  where)
            if value < 0:
                raise ConfigError(f"{key} = {value} cycles is negative", where)
        missing = [t for t in fam.timings if t not in cycles]
        if missing:
            raise ConfigError(f"missing timing parameter(s) {', '.join(missing)} required by {fam.family}",
                              "timing_cycles")
        return cycles

    def _check_levels(self, fam: Family) -> None:
        used = {LEVEL_FIELDS[lv] for lv in fam.levels}
        for fieldname in ("pseudo_channels", "stack_ids", "ranks"):
            if fieldname not in used and getattr(self.organisation, fieldname) != 1:
                raise ConfigError(f"{fam.family} has no '{fieldname}' level; leave it at 1",
                                  f"organisation.{fieldname}")

    def _check_invariants(self) -> None:
        c = self.cycles

        def need(ok: bool, text: str, key: str):
            if not ok:
                raise ConfigError(f"impossible timing: {text}", f"timing_cycles.{key}")

        need(c["tRC"] >= c["tRAS"] + c["tRP"], f"tRC ({c['tRC']}) < tRAS + tRP ({c['tRAS']} + {c['tRP']})", "tRC")
        need(c["tRAS"] >= c["tRCD_RD"], f"tRAS ({c['tRAS']}) < tRCD_RD ({c['tRCD_RD']})", "tRAS")
        need(c["tREFI"] > c["tRFC"], f"tREFI ({c['tREFI']}) <= tRFC ({c['tRFC']})", "tREFI")
        need(c["tCCD_L"] >= c["tCCD_S"], f"tCCD_L ({c['tCCD_L']}) < tCCD_S ({c['tCCD_S']})", "tCCD_L")
        need(c["tFAW"] >= c["tRRD_S"], f"tFAW ({c['tFAW']}) < tRRD_S ({c['tRRD_S']})", "tFAW")
        for key in ("CL", "BL", "tRCD_RD", "tRP", "tRAS", "tRC", "tREFI"):
            need(c[key] > 0, f"{key} must be at least one cycle", key)
        beats = Fraction(self.data_rate) * Fraction(self.clock.tCK, 10**12)
        expected_bl = Fraction(self.organisation.burst_length) / beats
        if expected_bl != c["BL"]:
            raise ConfigError(
                f"BL = {c['BL']} cycles, but burst_length {self.organisation.burst_length} at "
                f"{self.data_rate / 1e6:g} MT/s with tCK {self.clock.tCK} ps takes {float(expected_bl):g} cycles",
                "timing_cycles.BL")

    # -- derived quantities ---------------------------------------------
    @property
    def ticks_per_clock(self) -> int:
        return self.family.ticks_per_clock

    @property
    def tick_ps(self) -> Fraction:
        """Controller tick period in picoseconds (may be fractional: 312.5 for HBM3)."""
        return Fraction(self.clock.tCK, self.ticks_per_clock)

    def ticks(self, expr: str) -> int:
        """A latency expression over the timing table, in controller ticks."""
        return evaluate(expr, self.cycles, self.name) * self.ticks_per_clock

    def level_sizes(self) -> list[int]:
        """Fan-out of each hierarchy level below the channel (pseudo-channel ... bank)."""
        return [getattr(self.organisation, LEVEL_FIELDS[lv]) for lv in self.family.levels[1:]]

    @property
    def banks_per_channel(self) -> int:
        return math.prod(self.level_sizes())

    @property
    def subchannels(self) -> int:
        """Independent data buses per channel (pseudo-channels x ranks share none / one)."""
        return self.organisation.pseudo_channels

    @property
    def channel_bytes(self) -> int:
        return self.banks_per_channel * self.organisation.rows * self.organisation.row_bytes

    @property
    def capacity_bytes(self) -> int:
        return self.channel_bytes * self.organisation.channels

    @property
    def peak_bw_per_channel_Bps(self) -> float:
        o = self.organisation
        return o.pseudo_channels * o.bus_width / 8 * self.data_rate

    @property
    def peak_bw_Bps(self) -> float:
        return self.peak_bw_per_channel_Bps * self.organisation.channels

    def derived(self) -> dict:
        """Quantities computed from the preset, for ``show-config --resolved``."""
        o = self.organisation
        return {
            "access_bytes": o.access_bytes, "row_bytes": o.row_bytes, "accesses_per_row": o.accesses_per_row,
            "banks_per_channel": self.banks_per_channel, "channel_bytes": self.channel_bytes,
            "capacity_bytes": self.capacity_bytes, "peak_bw_per_channel_GBps": self.peak_bw_per_channel_Bps / 1e9,
            "peak_bw_GBps": self.peak_bw_Bps / 1e9, "tick_ps": float(self.tick_ps),
            "read_latency_cycles": evaluate(self.family.read_latency, self.cycles),
            "levels": list(self.family.levels),
        }


def load_dram(name: str, sets=(), overrides: dict | None = None) -> DramSpec:
    """Load DRAM preset ``name`` (or a YAML path), apply overrides and ``--set`` options, validate."""
    raw, path = presets.load(name, "devices")
    if overrides:
        from pimsim.core.config import deep_merge

        raw = deep_merge(raw, overrides)
    raw = apply_sets(raw, sets)
    where = presets.relpath(path) + ":"
    if raw.get("kind") != "dram":
        raise ConfigError(f"'{name}' is a '{raw.get('kind')}' preset, not a DRAM device", where.rstrip(":"))
    return build(DramSpec, raw, where)
