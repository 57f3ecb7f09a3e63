"""The channel controller's timing plans: TimingTables.split_updates against TimingTables.updates.

The controller leaves out updates that can never decide (a follower on the same command bus
cannot issue in the same tick, nor on HBM3 before the next rising edge) and defers those of
ready entries that only PREA and REF read until a refresh reads them. These tests pin the
partition down for every DRAM preset; the random-traffic oracle in test_timing_edges.py checks
that the command stream still obeys every rule.
"""

import pytest

from pimsim.dram.family import CMD, COLUMN_COMMANDS, COMMANDS
from pimsim.dram.spec import load_dram
from pimsim.dram.timing import TimingTables

DEVICES = ["hbm2-2000", "hbm3-6400", "ddr4-3200", "lpddr5-6400", "gddr6-aim"]
SCOPE_CMDS = ("PREA", "REF")


def plans(tables):
    """(command, target, scope?) for every command on the first and last bank (scope for PREA/REF)."""
    for name in COMMANDS:
        if name in SCOPE_CMDS:
            for scope in (0, tables.nscopes - 1):
                yield name, scope, True
        else:
            for bank in (0, tables.nbanks - 1):
                yield name, bank, False


def entry_commands(tables, off):
    """The commands that read ready-list offset ``off``."""
    entry = tables._entry_at(off)
    return [COMMANDS[c] for c in range(len(COMMANDS)) if tables.entry[c] == entry]


@pytest.mark.parametrize("device", DEVICES)
def test_split_keeps_every_update_that_can_decide(device):
    spec = load_dram(device)
    tables = TimingTables(spec)
    hbm3 = spec.family.clock_edges == "hbm3"
    dual = spec.family.command_bus == "dual"
    for name, target, scope in plans(tables):
        plain = set(tables.updates(CMD[name], target, scope)[0])
        kept, later = tables.split_updates(CMD[name], target, scope)
        assert not set(kept) & set(later)
        assert set(kept) | set(later) <= plain
        for off, lat in later:                       # deferred: read by PREA/REF only
            assert set(entry_commands(tables, off)) <= set(SCOPE_CMDS), (name, off)
        for off, lat in plain - set(kept) - set(later):
            for follower in entry_commands(tables, off):
                same_bus = not dual or ((follower in COLUMN_COMMANDS) == (name in COLUMN_COMMANDS))
                assert same_bus, (device, name, follower, lat)
                rising = hbm3 and name not in ("PRE", "PREA") and follower not in ("PRE", "PREA")
                assert lat <= (2 if rising else 1), (device, name, follower, lat)


def test_hbm3_reads_drop_the_other_pseudo_channels_bus_updates():
    """HBM3: a RD raises the column-bus entries of the other pseudo-channel by one clock (2 ticks);
    the next column command cannot issue before the next rising edge anyway, so they are left out."""
    tables = TimingTables(load_dram("hbm3-6400"))
    plain = set(tables.updates(CMD["RD"], 0)[0])
    kept, later = tables.split_updates(CMD["RD"], 0)
    dropped = plain - set(kept) - set(later)
    assert dropped and all(lat == 2 for _, lat in dropped)
    assert len(kept) + len(later) < len(plain)


def test_refresh_entries_are_deferred_from_row_commands():
    """An ACT's tRC/tRAS-style updates of the REF and PREA entries wait for the refresh logic."""
    for device in DEVICES:
        tables = TimingTables(load_dram(device))
        _, later = tables.split_updates(CMD["ACT"], 0)
        assert later, device
        assert {c for off, _ in later for c in entry_commands(tables, off)} <= set(SCOPE_CMDS)
