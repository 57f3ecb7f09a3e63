"""What one PIM kernel run reports: time, energy by component, commands, bytes, MACs.

Energy is computed from command counts in both fidelities (:func:`energy_by_component`),
so a tile-level run whose command counts match the command level reports the
same joules, apart from refresh and background, which follow time.

Components (joules):

=============  ==============================================================
act_pre        bank activations and their precharges
read_write     column reads and writes of the bank arrays
datapath       bank-to-unit movement for units outside the banks
mac            multiply-adds (and commands with a lumped figure, e.g. AiM MAC16)
io             bytes over the external pins (buffer fills, read-outs, host R/W)
refresh        REF commands
background     static power of the channels in use, over the kernel's time
=============  ==============================================================
"""

from __future__ import annotations

import dataclasses

from pimsim.pim.timing import COUNTERS

COMPONENTS = ("act_pre", "read_write", "datapath", "mac", "io", "refresh", "background")


@dataclasses.dataclass(frozen=True)
class KernelResult:
    """One kernel on one PIM device at one fidelity.

    ``time_ps``: simulated time (integer picoseconds); ``cycles``: the same in
    the device's command clock (tCK); ``energy_J``: joules by component (see
    module docstring); ``commands``: DRAM/PIM commands issued, all channels;
    ``bytes``: ``array_read``/``array_write`` (bank arrays), ``io`` (pins) and
    ``data`` (operands the kernel needs: weights or KV cache, inputs, outputs);
    ``macs``: multiply-adds by the PIM units (padding lanes included).
    """

    kernel: str
    device: str
    fidelity: str
    shape: dict
    channels: int
    cycles: int
    time_ps: int
    energy_J: dict
    commands: dict
    bytes: dict
    macs: int
    refreshes: int = 0
    parts: tuple = ()

    @property
    def energy_total_J(self) -> float:
        return sum(self.energy_J.values())

    @property
    def time_s(self) -> float:
        return self.time_ps * 1e-12

    def to_dict(self) -> dict:
        out = {"kernel": self.kernel, "device": self.device, "fidelity": self.fidelity, "shape": self.shape,
               "channels": self.channels, "cycles": self.cycles, "time_ps": self.time_ps,
               "energy_J": self.energy_total_J, "energy_by_component_J": dict(self.energy_J),
               "commands": {k: v for k, v in self.commands.items() if v}, "bytes": dict(self.bytes),
               "macs": self.macs, "refreshes": self.refreshes}
        if self.parts:
            out["parts"] = [p.to_dict() for p in self.parts]
        return out


def counters_from_counts(tables, counts: dict) -> dict:
    """Bank activations, array/IO bytes, MACs and REFs implied by command counts."""
    total = [0] * len(COUNTERS)
    for name, n in counts.items():
        if not n or name not in tables.cmd:
            continue
        span = tables.key_span(name)
        key = None if span is None else tuple(None if wild else 0 for wild in span)
        for i, v in enumerate(tables.plan(tables.cmd[name], key)[3]):
            total[i] += v * n
    return dict(zip(COUNTERS, total))


def energy_by_component(spec, counts: dict, time_ps: int, channels: int) -> dict:
    """Joules by component for a run with these command counts on ``channels`` channels."""
    tables = spec.tables()
    e = spec.energy
    c = counters_from_counts(tables, counts)
    lumped = {k: v for k, v in e.commands.items() if counts.get(k)}
    lumped_reads = lumped_macs = 0
    lumped_J = 0.0
    for name, joules in lumped.items():
        from pimsim.core.units import parse_quantity

        part = counters_from_counts(tables, {name: counts[name]})
        lumped_reads += part["read_B"]
        lumped_macs += part["macs"]
        lumped_J += counts[name] * parse_quantity(joules, "energy", f"energy.commands.{name}")
    pim_reads = c["read_B"] - counts.get("RD", 0) * spec.dram.organisation.access_bytes - lumped_reads
    return {
        "act_pre": c["acts"] * e.act,
        "read_write": 8 * ((c["read_B"] - lumped_reads) * e.read + c["write_B"] * e.write),
        "datapath": 8 * max(pim_reads, 0) * e.datapath,
        "mac": (c["macs"] - lumped_macs) * e.mac + lumped_J,
        "io": 8 * c["io_B"] * e.io,
        "refresh": c["refs"] * e.refresh,
        "background": e.background * channels * time_ps * 1e-12,
    }


def byte_counts(tables, counts: dict, data_bytes: int) -> dict:
    c = counters_from_counts(tables, counts)
    return {"array_read": c["read_B"], "array_write": c["write_B"], "io": c["io_B"], "data": data_bytes}


def macs_of(tables, counts: dict) -> int:
    return counters_from_counts(tables, counts)["macs"]
