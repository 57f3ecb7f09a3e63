"""Standard DRAM access patterns (the cases pimsim is validated on against Ramulator 2).

Each function returns a :class:`~pimsim.dram.memory.RequestBatch` of 32 B-sized
accesses for a DRAM spec. Single-pseudo-channel patterns address DRAM
coordinates directly (channel 0, pseudo-channel 0); all-channel patterns use
linear addresses through the channel interleave and an address mapping.
"""

from __future__ import annotations

import random

import numpy as np

from pimsim.core.errors import ConfigError
from pimsim.dram.mapping import map_addresses
from pimsim.dram.memory import RequestBatch


def _flat_bank(spec, coords: dict) -> np.ndarray:
    """Flat bank index from per-level coordinates (missing levels are 0)."""
    bank = 0
    for level, size in zip(spec.family.levels[1:], spec.level_sizes()):
        bank = bank * size + np.asarray(coords.get(level, 0))
    return np.asarray(bank)


def _batch(n, bank, row, col, write=False) -> RequestBatch:
    return RequestBatch(np.zeros(n, dtype=np.int64), np.broadcast_to(bank, (n,)).astype(np.int64),
                        np.asarray(row, dtype=np.int64), np.asarray(col, dtype=np.int64), np.full(n, bool(write)))


def seq_one_bank(spec, n: int = 32768) -> RequestBatch:
    """Row after row of one bank: request i -> row i // accesses_per_row."""
    per_row = spec.organisation.accesses_per_row
    i = np.arange(n)
    return _batch(n, _flat_bank(spec, {}), i // per_row, i % per_row)


def seq_rotating_banks(spec, n: int = 32768, write: bool = False) -> RequestBatch:
    """Bank group fastest, then bank, then column, then row (one pseudo-channel)."""
    o = spec.organisation
    i = np.arange(n)
    bg = i % o.bank_groups
    ba = (i // o.bank_groups) % o.banks
    per = o.bank_groups * o.banks
    col = (i // per) % o.accesses_per_row
    row = i // (per * o.accesses_per_row)
    return _batch(n, _flat_bank(spec, {"bank_group": bg, "bank": ba}), row, col, write)


def random_one_pc(spec, n: int = 32768, seed: int = 1) -> RequestBatch:
    """Uniformly random (stack ID,) bank group, bank, row, column in one pseudo-channel."""
    o = spec.organisation
    rng = random.Random(seed)
    has_sid = "stack_id" in spec.family.levels
    rows, banks, cols = [], [], []
    for _ in range(n):
        coords = {"stack_id": rng.randrange(o.stack_ids)} if has_sid else {}
        coords["bank_group"] = rng.randrange(o.bank_groups)
        coords["bank"] = rng.randrange(o.banks)
        rows.append(rng.randrange(o.rows))
        cols.append(rng.randrange(o.accesses_per_row))
        banks.append(int(_flat_bank(spec, coords)))
    return _batch(n, np.asarray(banks), rows, cols)


def seq_all_channels(spec, nbytes: int = 16 * 2**20, mapping: str | None = None, write=False) -> RequestBatch:
    """Linear addresses 0, 32, 64, ... through the channel interleave and ``mapping``."""
    step = spec.organisation.access_bytes
    return map_addresses(spec, np.arange(0, nbytes, step, dtype=np.int64), write, mapping)


def random_all_channels(spec, n: int = 524288, seed: int = 2, mapping: str | None = None) -> RequestBatch:
    """Uniformly random access-aligned addresses over the whole device."""
    step = spec.organisation.access_bytes
    rng = random.Random(seed)
    total = spec.capacity_bytes // step
    return map_addresses(spec, [rng.randrange(total) * step for _ in range(n)], False, mapping)


PATTERNS = {
    "seq_one_bank": seq_one_bank,
    "seq_rotating_banks": seq_rotating_banks,
    "random_one_pc": random_one_pc,
    "seq_all_channels": seq_all_channels,
    "random_all_channels": random_all_channels,
}


def pattern(name: str):
    try:
        return PATTERNS[name]
    except KeyError:
        raise ConfigError(f"unknown pattern '{name}'; valid: {', '.join(PATTERNS)}") from None


def ramulator_case(case: str, spec) -> RequestBatch:
    """The request stream of one of the Ramulator 2.1 validation cases (tests/data/README.md)."""
    if case == "a_seq_1bank":
        return seq_one_bank(spec)
    if case == "b_seq_rot_banks":
        return seq_rotating_banks(spec)
    if case == "w_seq_rot_banks":
        return seq_rotating_banks(spec, write=True)
    if case == "c_rand_1pc":
        return random_one_pc(spec, seed=1)
    if case.startswith(("d_seq_all", "e_seq_all")):
        return seq_all_channels(spec)
    if case == "f_rand_all":
        return random_all_channels(spec, seed=2)
    raise ConfigError(f"unknown validation case '{case}'")
