"""Run a compiled kernel at either fidelity and package the result.

:func:`run_aim` drives a GDDR6-AiM instruction stream through the DMA and
channel controllers (command) or the closed-form AiM model (tile);
:func:`run_host` does the same for host-issued HBM-PIM / AttAcc request
streams. Both return a :class:`~pimsim.pim.result.KernelResult`.
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError
from pimsim.pim.engine import HostChannel
from pimsim.pim.result import KernelResult, byte_counts, energy_by_component, macs_of

FIDELITIES = ("command", "tile")


def refresh_on(spec, refresh) -> bool:
    mode = refresh if refresh is not None else spec.refresh_mode
    if isinstance(mode, bool):
        return mode
    if mode not in ("all-bank", "none"):
        raise ConfigError(f"refresh must be 'all-bank' or 'none', got {mode!r}")
    return mode == "all-bank"


def check_fidelity(fidelity: str | None) -> None:
    if fidelity not in FIDELITIES:
        raise ConfigError(f"fidelity must be 'command' or 'tile', got {fidelity!r}")


def run_aim(spec, kernel: str, shape: dict, channels: int, fidelity: str, refresh, isrs_fn, tile_fn,
            data_bytes: int, groups: int = 1) -> KernelResult:
    """``isrs_fn()`` -> instruction list (command); ``tile_fn(tile)`` -> Timeline (tile).

    ``groups`` channel groups of ``channels`` run the stream in lockstep; counts are one group's.
    """
    from pimsim.pim.tile.aim import AimTile

    fidelity = fidelity or spec.fidelity
    check_fidelity(fidelity)
    tables = spec.tables()
    on = refresh_on(spec, refresh)
    if fidelity == "command":
        from pimsim.pim.aim_system import AimSystem      # SimPy only for command-level AiM runs

        system = AimSystem(tables, isrs_fn(), refresh=on)
        ticks = system.run()
        counts, _ = system.totals()
        counts = {k: v if k == "REF" else _per_group(v, groups) for k, v in counts.items() if v}
        refreshes = counts.get("REF", 0)
    else:
        tile = spec.cached(("aim-tile", on), lambda: AimTile(tables, track=on))
        st = tile_fn(tile)
        ticks, per_channel = tile.finish(st, on, "EWMUL16" if "EWMUL16" in st.counts else "MAC16")
        counts = {k: v * channels for k, v in st.counts.items()}
        for k, v in st.group_counts.items():
            counts[k] = counts.get(k, 0) + v
        if per_channel:
            counts["REF"] = counts.get("REF", 0) + per_channel * spec.channels
            counts["ACT16"] = counts.get("ACT16", 0) + per_channel * channels
            counts["PREA"] = counts.get("PREA", 0) + per_channel * channels
        refreshes = per_channel * spec.channels
    return package(spec, kernel, shape, channels, fidelity, ticks, counts, refreshes, data_bytes)


def _per_group(count: int, groups: int) -> int:
    """One group's share of a count over ``groups`` lockstep groups (identical without refresh; with it,
    a refresh can fall differently into each group's plain traffic: their average)."""
    return round(count / groups)


def run_host(spec, kernel: str, shape: dict, channels: int, fidelity: str, refresh, requests_fn, tile_fn,
             data_bytes: int, streams_used: int) -> KernelResult:
    """One representative stream, counted ``streams_used`` times (channels x pseudo-channels in use)."""
    from pimsim.pim.tile.host import HostTile

    fidelity = fidelity or spec.fidelity
    check_fidelity(fidelity)
    tables = spec.tables()
    on = refresh_on(spec, refresh)
    if fidelity == "command":
        chan = HostChannel(tables, refresh=on, scopes=host_scopes(spec))
        ticks = chan.run(requests_fn())
        counts = {n: c for n, c in zip(tables.names, chan.state.counts)}
    else:
        tile = spec.cached(("host-tile", on), lambda: HostTile(spec, track=on))
        st = tile_fn(tile)
        ticks, nref = tile.finish(st, on)
        counts = dict(st.counts)
        if nref:
            counts["REF"] = counts.get("REF", 0) + nref * tile.scopes
            counts["PREA"] = counts.get("PREA", 0) + nref * tile.scopes
    counts = {k: v * streams_used for k, v in counts.items() if v}
    return package(spec, kernel, shape, channels, fidelity, ticks, counts, counts.get("REF", 0), data_bytes)


def host_scopes(spec) -> list[int]:
    """Refresh scopes the representative stream refreshes (HBM-PIM: its own pseudo-channel only)."""
    if spec.arch.architecture == "hbm-pim":
        return [0]
    t = spec.tables()
    return list(range(t.counts[t.scope_level]))


def package(spec, kernel, shape, channels, fidelity, ticks, counts, refreshes, data_bytes) -> KernelResult:
    tables = spec.tables()
    tick = spec.dram.tick_ps                          # Fraction: HBM3's half clock is 312.5 ps
    time_ps = int(ticks) * tick.numerator // tick.denominator
    energy = energy_by_component(spec, counts, time_ps, channels)
    return KernelResult(kernel=kernel, device=spec.name, fidelity=fidelity, shape=shape, channels=channels,
                        cycles=int(ticks) // tables.tpc, time_ps=time_ps, energy_J=energy, commands=counts,
                        bytes=byte_counts(tables, counts, data_bytes), macs=macs_of(tables, counts),
                        refreshes=refreshes)
