"""The tile-level model against the command level: within 3% on grids of at least 30 shapes per kernel
and device (small, odd-sized, tall, wide; every other shape with all-bank refresh on).

Each grid runs every shape at both fidelities; command counts must match exactly where no refresh
intervenes, and times within 3% everywhere. Attention on GDDR6-AiM runs both layouts: pimsim's dense
one on the shared grid, CENT's (with its softmax passes through the banks) on a grid of its own
(GQA, lockstep channel groups, one-channel groups whose writes a channel paces).
"""

import pytest

from pimsim.pim import api

DEVICES = ["gddr6-aim-pim", "hbm-pim", "hbm3-pim", "hbm3-pim-bg", "hbm3-pim-buffer"]
ELEMENTWISE_DEVICES = ["gddr6-aim-pim", "hbm-pim"]     # AttAcc-style units do GEMVs only

GEMV = [  # (m, k, channels)
    (16, 16, 1), (64, 64, 1), (128, 96, 2), (256, 256, 4),                                  # small
    (17, 33, 1), (100, 300, 2), (999, 77, 3), (1023, 1025, 1), (333, 2049, 2), (77, 5000, 1),  # odd
    (4096, 64, 1), (8192, 128, 2), (3000, 100, 1), (2048, 16, 1), (6000, 48, 4),           # tall
    (16, 8192, 1), (64, 4096, 1), (32, 16384, 2), (8, 3000, 1), (128, 10000, 4),           # wide
    (512, 512, 1), (1024, 1024, 2), (2048, 1024, 8), (1024, 4096, 4), (4096, 2048, 16),
    (700, 1500, 5), (1500, 700, 3), (4000, 300, 2), (300, 4000, 2), (2500, 2500, 8), (1200, 3300, 6),
    (5000, 5000, 16),
]
ELEMENTWISE = [  # (n, channels)
    (1, 1), (16, 1), (64, 1), (1000, 1), (4096, 1), (5000, 3), (12345, 2), (65536, 1), (70000, 7), (99999, 5),
    (123457, 16), (200000, 4), (262144, 8), (300001, 3), (500000, 10), (1048576, 2), (777777, 6), (33, 32),
    (2047, 2), (8191, 4), (40000, 1), (150000, 12), (3000, 32), (600000, 20), (90000, 9), (250000, 1),
    (1048576, 32), (31, 1), (524288, 16), (409600, 5),
]
ATTENTION = [  # (seq, heads, head_dim, channels, batch)
    (16, 1, 64, 1, 1), (64, 2, 128, 1, 1), (128, 32, 128, 32, 1), (256, 8, 64, 4, 1),        # small
    (77, 3, 96, 1, 1), (300, 4, 64, 2, 2), (1000, 8, 128, 4, 1), (1023, 5, 128, 3, 1),       # odd
    (513, 7, 96, 2, 1), (129, 12, 64, 6, 1),
    (4096, 4, 128, 8, 1), (8192, 2, 128, 4, 1), (2048, 1, 128, 1, 1), (3000, 2, 64, 2, 1),    # long contexts
    (16, 64, 128, 32, 1), (32, 40, 128, 16, 1), (64, 96, 64, 16, 2), (128, 48, 128, 8, 1),    # many heads
    (512, 32, 128, 16, 1), (1024, 16, 128, 16, 1), (2048, 8, 128, 16, 1), (700, 6, 128, 3, 2),
    (1500, 10, 128, 5, 1), (4000, 8, 64, 4, 1), (640, 20, 128, 10, 1), (256, 16, 128, 32, 4),
    (2048, 32, 128, 32, 1), (333, 9, 96, 3, 1), (1200, 12, 128, 6, 1), (96, 24, 64, 8, 3),
]


CENT_ATTENTION = [  # (seq, heads, kv_heads, head_dim, channels, groups, batch)
    (16, 1, 1, 64, 1, 1, 1), (64, 2, 2, 128, 1, 1, 1), (128, 32, 32, 128, 8, 4, 1), (256, 8, 8, 64, 4, 1, 1),
    (77, 3, 3, 96, 1, 1, 1), (300, 4, 4, 64, 2, 2, 2), (1000, 8, 8, 128, 4, 1, 1), (1023, 5, 5, 128, 3, 1, 1),
    (513, 8, 2, 96, 2, 1, 1), (129, 12, 12, 64, 6, 1, 1), (512, 32, 32, 128, 8, 4, 1), (600, 40, 40, 128, 16, 2, 1),
    (400, 64, 8, 128, 10, 3, 1), (700, 6, 6, 128, 3, 2, 2), (96, 24, 24, 64, 8, 1, 3), (640, 20, 20, 128, 10, 1, 1),
    (2048, 4, 4, 128, 8, 1, 1), (1025, 32, 32, 128, 32, 1, 1), (200, 16, 4, 128, 4, 2, 1), (33, 8, 8, 128, 2, 4, 2),
]


def _refresh(i):
    return "all-bank" if i % 2 else "none"


def _close(run, kwargs, refresh):
    cmd = run(fidelity="command", refresh=refresh, **kwargs)
    tile = run(fidelity="tile", refresh=refresh, **kwargs)
    err = abs(tile.time_ps - cmd.time_ps) / cmd.time_ps
    if not (cmd.refreshes or tile.refreshes):
        assert tile.commands == cmd.commands, kwargs
    return err


def test_grids_have_at_least_30_shapes_of_each_kind():
    assert len(GEMV) >= 30 and len(ELEMENTWISE) >= 30 and len(ATTENTION) >= 30


@pytest.mark.parametrize("device", DEVICES)
def test_gemv_tile_within_3_percent(device):
    errors = [_close(lambda **kw: api.gemv(device, **kw), {"m": m, "k": k, "channels": c}, _refresh(i))
              for i, (m, k, c) in enumerate(GEMV)]
    assert max(errors) < 0.03, max(zip(errors, GEMV))


@pytest.mark.parametrize("device", ELEMENTWISE_DEVICES)
@pytest.mark.parametrize("op", ["add", "mul"])
def test_elementwise_tile_within_3_percent(device, op):
    errors = [_close(lambda **kw: api.elementwise(device, op, **kw), {"n": n, "channels": c}, _refresh(i))
              for i, (n, c) in enumerate(ELEMENTWISE)]
    assert max(errors) < 0.03, max(zip(errors, ELEMENTWISE))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("piece", ["score", "context"])
def test_attention_tile_within_3_percent(device, piece):
    fn = api.attention_score if piece == "score" else api.attention_context
    spec = api.device(device)
    errors = []
    for i, (seq, heads, dim, c, batch) in enumerate(ATTENTION):
        kwargs = {"seq": seq, "heads": heads, "head_dim": dim, "channels": min(c, spec.channels), "batch": batch,
                  "layout": "dense"}
        errors.append(_close(lambda **kw: fn(device, **kw), kwargs, _refresh(i)))
    assert max(errors) < 0.03, max(zip(errors, ATTENTION))


@pytest.mark.parametrize("piece", ["score", "context"])
def test_cent_attention_layout_tile_within_3_percent(piece):
    fn = api.attention_score if piece == "score" else api.attention_context
    errors = []
    for i, (seq, heads, kv, dim, c, groups, batch) in enumerate(CENT_ATTENTION):
        kwargs = {"seq": seq, "heads": heads, "kv_heads": kv, "head_dim": dim, "channels": c, "groups": groups,
                  "batch": batch, "layout": "cent"}
        errors.append(_close(lambda **kw: fn("gddr6-aim-pim", **kw), kwargs, _refresh(i)))
    assert max(errors) < 0.03, max(zip(errors, CENT_ATTENTION))


def test_gqa_dense_context_reads_each_key_head_once_per_query_head():
    """Dense layout with GQA: V is laid out per key/value head; its query heads take turns on it."""
    gqa = api.attention_context("gddr6-aim-pim", 2048, 64, 128, kv_heads=8, channels=8, layout="dense",
                                fidelity="tile", refresh="none")
    mha = api.attention_context("gddr6-aim-pim", 2048, 8, 128, channels=8, layout="dense", fidelity="tile",
                                refresh="none")
    assert gqa.commands["MAC16"] == 8 * mha.commands["MAC16"]
