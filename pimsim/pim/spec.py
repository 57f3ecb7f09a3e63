"""A PIM device preset (``kind: pim``): a DRAM preset, a PIM architecture, MAC units and energies.

::

    kind: pim
    name: gddr6-aim-pim
    memory: gddr6-aim            # DRAM preset: organisation, clock, timing table
    architecture: aim            # command set and rules: pimsim/pim/archs/aim.yaml
    compute: {placement: bank, lanes: 16, mac_command: MAC16, buffer: 2KiB, accumulators: 32}
    energy: {act: 2.95nJ, read: 2.14pJ/bit, ...}

The PIM timing parameters an architecture needs beyond the DRAM family's go in
``timing_cycles``. Loading checks that the architecture extends the DRAM
preset's family, that every timing it uses has a value, and that the MAC
placement fits the organisation.
"""

from __future__ import annotations

import dataclasses

from pimsim.core import presets
from pimsim.core.config import apply_sets, build, deep_merge, param
from pimsim.core.errors import ConfigError
from pimsim.dram.family import expression_names
from pimsim.dram.spec import load_dram


#: operand width of the PIM MAC units modelled (AiM's BF16, HBM-PIM's and NeuPIMs' FP16)
PIM_OPERAND_BITS = 16
#: operator kinds whose matrix operand is a weight (the others multiply the KV cache)
WEIGHT_KINDS = ("gemv", "gemm", "moe_router", "expert_ffn")


def narrow_operand(op) -> tuple[str, int] | None:
    """The first operand of ``op`` a PIM MAC unit cannot multiply, as (what, bits), or None if it can."""
    matrix = ("weights", int(op.weight_bits)) if op.kind in WEIGHT_KINDS else ("KV cache", int(op.kv_bits))
    for what, bits in (matrix, ("activations", int(op.activation_bits))):
        if bits != PIM_OPERAND_BITS:
            return what, bits
    return None

PLACEMENTS = ("bank", "bank_pair", "bank_group", "buffer_die")
LAYOUTS = ("dense", "cent")


@dataclasses.dataclass(frozen=True)
class ComputeConfig:
    """The MAC units and their buffers."""

    placement: str = param("Where the MAC units sit", choices=PLACEMENTS)
    lanes: int = param("MAC lanes per unit (FP16 elements per column access)", minimum=1)
    mac_command: str = param("The architecture's command that multiplies a column into the units")
    buffer: int = param("Input-vector buffer each unit reads (global buffer / GRF_A / GEMV buffer)", unit="size",
                        minimum=1)
    accumulators: int = param("Output registers per unit (outputs accumulated before a read-out)", minimum=1)
    dtype_bits: int = param("Bits per element", default=16, choices=(16,))


@dataclasses.dataclass(frozen=True)
class EnergyConfig:
    """Energy per command and per bit, with the source of each figure."""

    source: str = param("Papers or tools the figures come from")
    act: float = param("One bank activation and its precharge", unit="energy", minimum=0)
    read: float = param("Column read from the bank array (PIM reads included)", unit="energy_per_bit", minimum=0)
    write: float = param("Column write into the bank array", unit="energy_per_bit", minimum=0)
    io: float = param("Data over the external pins (host reads/writes, buffer fills, result reads)",
                      unit="energy_per_bit", minimum=0)
    mac: float = param("One multiply-add in a PIM unit", unit="energy", minimum=0)
    refresh: float = param("One all-bank refresh command (every bank of its scope)", unit="energy", minimum=0)
    background: float = param("Static power of one channel while the kernel runs", unit="power", minimum=0)
    datapath: float = param("Bank-to-unit movement for units outside the bank (bank group, buffer die)",
                            unit="energy_per_bit", default="0pJ/bit", minimum=0)
    commands: dict[str, str] = param("Lumped energy of a command, replacing its read and MAC energy", default={})


@dataclasses.dataclass(frozen=True)
class SoftmaxConfig:
    """Where attention's softmax runs between the score and context GEMVs."""

    where: str = param("near-memory (controller units) or host", choices=("near-memory", "host"))
    flops: float = param("Softmax throughput (about 5 operations per score)", unit="flops", minimum=1)
    latency: int = param("Fixed cost of handing scores over and probabilities back", unit="time", default="0ns")


@dataclasses.dataclass(frozen=True)
class PimSpec:
    """A PIM memory: what it is, where its numbers come from, and the numbers."""

    kind: str = param("Always 'pim'", choices=("pim",))
    name: str = param("Preset name")
    source: str = param("Papers, data sheets or simulators the device follows")
    memory: str = param("DRAM preset (devices/*.yaml, kind: dram) the PIM is built on")
    architecture: str = param("PIM command set (pimsim/pim/archs): aim, hbm-pim, attacc")
    compute: ComputeConfig = param("MAC units")
    energy: EnergyConfig = param("Energy figures")
    softmax: SoftmaxConfig = param("Softmax hand-off for attention")
    timing_cycles: dict[str, int] = param("PIM timing parameters (tCK) the architecture adds", default={})
    memory_overrides: dict = param("Fields merged into the DRAM preset before validation", default={})
    stacks: int = param("Devices of the DRAM preset (stacks, chips) that make up this PIM memory", default=1,
                        minimum=1)
    refresh: str | None = param("all-bank or none (default: the DRAM preset's controller setting)", default=None,
                                choices=(None, "all-bank", "none"))
    fidelity: str = param("Fidelity kernels run at unless a call asks for another", default="tile",
                          choices=("command", "tile"))
    attention_layout: str = param("Data layout of the attention kernels unless a call asks for another: dense "
                                  "(pimsim's) or cent (CENT's trace emitter, GDDR6-AiM only; "
                                  "pimsim/pim/kernels/aim_cent.py)", default="dense", choices=LAYOUTS)
    description: str = param("One-line description", default="")

    def __post_init__(self):
        from pimsim.pim.arch import load_arch

        try:
            dram = load_dram(self.memory, overrides=self.memory_overrides or None)
        except ConfigError as exc:
            raise ConfigError(f"memory '{self.memory}': {exc.message}", "memory") from None
        try:
            arch = load_arch(self.architecture)
        except ConfigError as exc:
            raise ConfigError(exc.message, "architecture") from None
        if arch.family != dram.standard:
            raise ConfigError(f"architecture '{self.architecture}' extends {arch.family}, but memory "
                              f"'{self.memory}' is {dram.standard}", "architecture")
        object.__setattr__(self, "dram", dram)
        object.__setattr__(self, "arch", arch)
        object.__setattr__(self, "cycles", self._cycles(dram, arch))
        self._check_compute(dram, arch)
        if self.attention_layout == "cent" and arch.architecture != "aim":
            raise ConfigError(f"attention_layout 'cent' is CENT's GDDR6-AiM layout; architecture "
                              f"{arch.architecture} has only 'dense'", "attention_layout")

    def _cycles(self, dram, arch) -> dict[str, int]:
        cycles = dict(dram.cycles)
        for key, value in self.timing_cycles.items():
            if key not in arch.timings:
                raise ConfigError(f"'{key}' is not a timing of architecture {arch.architecture} "
                                  f"(its own timings: {', '.join(arch.timings) or 'none'})", f"timing_cycles.{key}")
            if value < 1:
                raise ConfigError(f"{key} = {value} cycles; a PIM spacing is at least one cycle",
                                  f"timing_cycles.{key}")
            cycles[key] = value
        missing = [t for t in arch.timings if t not in cycles]
        used = set()
        for rule in arch.constraints:
            used |= expression_names(str(rule[3]))
        missing += sorted(n for n in used if n not in cycles and n not in missing)
        if missing:
            raise ConfigError(f"architecture {arch.architecture} needs timing(s) {', '.join(missing)}; give them "
                              f"in timing_cycles (or in the DRAM preset)", "timing_cycles")
        return cycles

    def _check_compute(self, dram, arch) -> None:
        c = self.compute
        if c.mac_command not in arch.commands or arch.commands[c.mac_command].role != "compute":
            names = [n for n, d in arch.commands.items() if d.role == "compute"]
            raise ConfigError(f"'{c.mac_command}' is not a compute command of {arch.architecture} "
                              f"({', '.join(names)})", "compute.mac_command")
        if c.lanes * c.dtype_bits // 8 != dram.organisation.access_bytes:
            raise ConfigError(f"{c.lanes} lanes x {c.dtype_bits} bit = {c.lanes * c.dtype_bits // 8} B, but one "
                              f"column access of {self.memory} is {dram.organisation.access_bytes} B",
                              "compute.lanes")
        if c.buffer % dram.organisation.access_bytes:
            raise ConfigError(f"buffer {c.buffer} B is not a whole number of {dram.organisation.access_bytes} B "
                              "columns", "compute.buffer")
        from pimsim.core.units import parse_quantity

        for cmd, text in self.energy.commands.items():
            if cmd not in arch.commands:
                raise ConfigError(f"'{cmd}' is not a command of {arch.architecture}", f"energy.commands.{cmd}")
            parse_quantity(text, "energy", f"energy.commands.{cmd}")

    # -- derived quantities ------------------------------------------------------
    @property
    def channels(self) -> int:
        """Channels of the whole PIM memory (all stacks)."""
        return self.dram.organisation.channels * self.stacks

    @property
    def banks_per_unit(self) -> int:
        o, d = self.dram.organisation, self.dram
        return self.cached("banks_per_unit", lambda: {
            "bank": 1, "bank_pair": 2, "bank_group": o.banks,
            "buffer_die": d.banks_per_channel // o.pseudo_channels}[self.compute.placement])

    @property
    def units_per_channel(self) -> int:
        return self.cached("units_per_channel", lambda: self.dram.banks_per_channel // self.banks_per_unit)

    @property
    def elem_bytes(self) -> int:
        return self.compute.dtype_bits // 8

    @property
    def capacity_bytes(self) -> int:
        return self.dram.channel_bytes * self.channels

    @property
    def tck_ps(self):
        return self.dram.clock.tCK

    def tables(self):
        """The compiled timing tables of this device (built once, cached on the spec)."""
        found = self.__dict__.get("_tables")
        if found is None:
            from pimsim.pim.timing import PimTables

            found = PimTables(self.dram, self.arch, self.cycles, self.compute.lanes)
            object.__setattr__(self, "_tables", found)
        return found

    def cached(self, key, build):
        """A per-device object (layouts, tile models with their latency caches), built once."""
        store = self.__dict__.setdefault("_cache", {})
        if key not in store:
            store[key] = build()
        return store[key]

    def mac_interval_cycles(self) -> int:
        """tCK between two MAC commands to the same units: the rules at the levels every MAC spans."""
        return self.tables().mac_interval(self.compute.mac_command) // self.dram.ticks_per_clock

    def unit_clock_Hz(self) -> float:
        return 1e12 / (self.mac_interval_cycles() * self.tck_ps)

    def peak_macs_per_s(self) -> float:
        """lanes x units x unit clock, over all channels: the MAC-rate ceiling."""
        return self.compute.lanes * self.units_per_channel * self.unit_clock_Hz() * self.channels

    def internal_bw_Bps(self) -> float:
        """Bytes per second the MAC commands can read from the arrays, over all channels."""
        return self.peak_macs_per_s() * self.elem_bytes

    def external_bw_Bps(self) -> float:
        return self.dram.peak_bw_Bps * self.stacks

    def derived(self) -> dict:
        return {"channels": self.channels, "units_per_channel": self.units_per_channel,
                "banks_per_unit": self.banks_per_unit, "capacity_GiB": self.capacity_bytes / 2**30,
                "mac_interval_tCK": self.mac_interval_cycles(), "unit_clock_MHz": self.unit_clock_Hz() / 1e6,
                "peak_TFLOPS": 2 * self.peak_macs_per_s() / 1e12,
                "internal_bw_GBps": self.internal_bw_Bps() / 1e9, "external_bw_GBps": self.external_bw_Bps() / 1e9,
                "refresh": self.refresh_mode}

    @property
    def refresh_mode(self) -> str:
        return self.refresh or self.dram.controller.refresh


def load_pim(name: str, sets=(), overrides: dict | None = None) -> PimSpec:
    """Load PIM preset ``name`` (or a YAML path), apply overrides and ``--set`` options, validate."""
    raw, path = presets.load(name, "devices")
    if overrides:
        raw = deep_merge(raw, overrides)
    raw = apply_sets(raw, sets)
    where = presets.relpath(path) + ":"
    if raw.get("kind") != "pim":
        raise ConfigError(f"'{name}' is a '{raw.get('kind')}' preset, not a PIM device (kind: pim)",
                          where.rstrip(":"))
    return build(PimSpec, raw, where)
