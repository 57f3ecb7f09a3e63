"""Address mappings: a linear byte address -> (channel, bank, row, column).

The channel comes first, by interleaving: ``channel_interleave`` bytes go to
channel 0, the next to channel 1, and so on; those bits are removed and the
rest (the address within the channel, in units of one access) is split into
fields by a named mapping. Names are Ramulator's, read from the most
significant field to the least: ``RoBaRaCoCh`` puts the column in the lowest
bits, then the pseudo-channel/rank, stack ID, bank group, bank, and the row on
top. Decoding is vectorised over numpy arrays, so a million-request trace is
mapped at once.
"""

from __future__ import annotations

import numpy as np

from pimsim.core.errors import ConfigError
from pimsim.core.registry import Pluggable, Registry


def _log2(n: int, what: str) -> int:
    if n < 1 or n & (n - 1):
        raise ConfigError(f"{what} = {n} is not a power of two, which address mappings require")
    return n.bit_length() - 1


class AddressMapping(Pluggable, registry=Registry("address mapping")):
    """Splits a within-channel access index into level coordinates, row and column.

    ``fields(widths)`` returns, from the least significant bit upwards, the
    order in which fields take bits: ``("col", n)``, ``("level", j)``, ``("row", n)``.
    """

    description = ""

    def __init__(self, spec):
        self.spec = spec
        o = spec.organisation
        self.level_bits = [_log2(n, f"organisation ({lv})") for lv, n in
                           zip(spec.family.levels[1:], spec.level_sizes())]
        self.col_bits = _log2(o.accesses_per_row, "accesses per row")
        self.row_bits = _log2(o.rows, "organisation.rows")
        self.access_shift = _log2(o.access_bytes, "access size")

    def order(self) -> list[tuple[str, int]]:
        raise NotImplementedError

    def decode(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Access indices within a channel -> (flat bank, row, column) arrays."""
        index = np.asarray(index, dtype=np.int64)
        coords = [np.zeros_like(index) for _ in self.level_bits]
        row = np.zeros_like(index)
        col = np.zeros_like(index)
        shift = 0
        for kind, arg in self.order():
            if kind == "level":
                width = self.level_bits[arg]
                coords[arg] = (index >> shift) & ((1 << width) - 1)
            elif kind == "col":
                width, lo = arg
                col |= ((index >> shift) & ((1 << width) - 1)) << lo
            else:
                width = self.row_bits
                row = (index >> shift) & ((1 << width) - 1)
            shift += width
        self._post(coords, row, col)
        bank = np.zeros_like(index)
        for j, width in enumerate(self.level_bits):
            bank = (bank << width) | coords[j]
        return bank, row, col

    def _post(self, coords, row, col) -> None:
        """Hook for mappings that permute fields after slicing (XOR schemes)."""


def _levels(mapping: AddressMapping, top_down: bool = False) -> list[tuple[str, int]]:
    idx = range(len(mapping.level_bits))
    return [("level", j) for j in (reversed(idx) if top_down else idx)]


class RoBaRaCoCh(AddressMapping, kind="RoBaRaCoCh"):
    description = "column lowest, then pseudo-channel/rank, stack ID, bank group, bank; row highest"

    def order(self):
        return [("col", (self.col_bits, 0))] + _levels(self) + [("row", None)]


class RoCoBaRaCh(AddressMapping, kind="RoCoBaRaCh"):
    description = "pseudo-channel/rank and banks lowest, then column, row highest (bank-interleaved)"

    def order(self):
        return _levels(self) + [("col", (self.col_bits, 0)), ("row", None)]


class ChRaBaRoCo(AddressMapping, kind="ChRaBaRoCo"):
    description = "column lowest, then row, bank, bank group, stack ID, pseudo-channel/rank (bank-linear)"

    def order(self):
        return [("col", (self.col_bits, 0)), ("row", None)] + _levels(self, top_down=True)


class MOP4CLXOR(AddressMapping, kind="MOP4CLXOR"):
    description = ("4 accesses per row hit run, then pseudo-channel/rank, stack ID, bank group, bank, "
                   "rest of column, row; levels XORed with column bits")

    def order(self):
        low = min(2, self.col_bits)
        return ([("col", (low, 0))] + _levels(self) + [("col", (self.col_bits - low, low)), ("row", None)])

    def _post(self, coords, row, col):
        shift = 0
        for j, width in enumerate(self.level_bits):
            if width:
                coords[j] ^= (col >> shift) & ((1 << width) - 1)
                shift += width
        row ^= (col >> shift) & ((1 << self.row_bits) - 1)


def get_mapping(name: str, spec) -> AddressMapping:
    return AddressMapping.registry.get(name, "controller.mapping")(spec)


def split_channels(addresses: np.ndarray, spec, interleave_bytes: int):
    """Linear byte addresses -> (channel, access index within the channel)."""
    addresses = np.asarray(addresses, dtype=np.int64)
    channels = spec.organisation.channels
    access = spec.organisation.access_bytes
    if interleave_bytes % access:
        raise ConfigError(f"channel_interleave ({interleave_bytes} B) is not a multiple of the access size "
                          f"({access} B)", "controller.channel_interleave")
    block = addresses // interleave_bytes
    channel = block % channels
    within = (block // channels) * interleave_bytes + addresses % interleave_bytes
    return channel, within >> (access.bit_length() - 1)


def map_addresses(spec, addresses, write, mapping: str | None = None, at=None):
    """Linear byte addresses -> a :class:`~pimsim.dram.memory.RequestBatch`."""
    from pimsim.dram.memory import RequestBatch

    addresses = np.asarray(addresses, dtype=np.int64)
    if addresses.size and (addresses.min() < 0 or addresses.max() >= spec.capacity_bytes):
        bad = addresses[(addresses < 0) | (addresses >= spec.capacity_bytes)][0]
        raise ConfigError(f"address {int(bad):#x} is outside the device ({spec.capacity_bytes} bytes)")
    mapper = get_mapping(mapping or spec.controller.mapping, spec)
    channel, index = split_channels(addresses, spec, spec.controller.channel_interleave)
    bank, row, col = mapper.decode(index)
    write = np.broadcast_to(np.asarray(write, dtype=bool), addresses.shape).copy()
    return RequestBatch(channel, bank, row, col, write, None if at is None else np.asarray(at, dtype=np.int64))
