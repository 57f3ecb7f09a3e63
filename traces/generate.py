"""Regenerate the sample memory traces in this folder: ``python traces/generate.py``.

hbm3_decode_mix.trace: the memory traffic of a toy transformer decode step on one
HBM3 stack: a 256 KiB weight matrix streamed sequentially, the KV cache of 32
sequences read in 4 KiB chunks from scattered pages, and one 256 B KV write per
sequence. Addresses are linear; the default RoBaRaCoCh mapping with 32 B channel
interleave spreads them over all 16 channels.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from pimsim.dram.tracefile import write_trace

HERE = Path(__file__).parent
ACCESS = 32


def decode_mix(seed: int = 7):
    rng = random.Random(seed)
    weights = np.arange(0, 256 * 1024, ACCESS)
    kv_reads, kv_writes = [], []
    for _ in range(32):
        page = rng.randrange(1 << 20, 1 << 30, 1 << 16)          # a 64 KiB-aligned KV page
        kv_reads.extend(range(page, page + 4096, ACCESS))
        kv_writes.extend(range(page + 4096, page + 4096 + 256, ACCESS))
    addresses = np.concatenate([weights, kv_reads, kv_writes])
    writes = np.concatenate([np.zeros(len(weights) + len(kv_reads), bool), np.ones(len(kv_writes), bool)])
    return addresses, writes


if __name__ == "__main__":
    addresses, writes = decode_mix()
    write_trace(HERE / "hbm3_decode_mix.trace", addresses, writes)
    print(f"wrote {len(addresses)} requests")
