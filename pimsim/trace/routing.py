"""MoE routing: how many of a pass's tokens each expert of each layer receives.

Each token picks ``top_k`` distinct experts. ``uniform`` draws them with equal
probability, ``skewed`` with Zipf popularity (a different hot set per layer),
both from a seeded generator so a trace is reproducible; ``recorded`` spreads
the pass's ``tokens x top_k`` assignments in proportion to a measured
histogram, the same for every layer. The result is an integer array
``counts[repeat, layer, expert]`` whose rows sum to ``tokens x top_k``.
"""

from __future__ import annotations

import numpy as np

from pimsim.core.errors import ConfigError
from pimsim.trace.scenario import Routing

_MAX_DRAWS = 1 << 22  # random numbers drawn at once; bounds memory for long traces


def expert_counts(routing: Routing, rng: np.random.Generator, repeats: int, layers: int, tokens: int,
                  experts: int, top_k: int) -> np.ndarray:
    """Tokens routed to each expert: an int64 array of shape (repeats, layers, experts)."""
    if routing.policy == "recorded":
        row = recorded_counts(routing.histogram, tokens, experts, top_k)
        return np.broadcast_to(row, (repeats, layers, experts)).copy()
    log_p = np.zeros((layers, experts))
    if routing.policy == "skewed":
        log_p = _zipf_log_popularity(rng, layers, experts, routing.skew)
    return _sampled_counts(rng, log_p, repeats, tokens, top_k)


def _zipf_log_popularity(rng: np.random.Generator, layers: int, experts: int, skew: float) -> np.ndarray:
    ranks = np.argsort(rng.random((layers, experts)), axis=1)
    return -skew * np.log1p(ranks.astype(float))


def _sampled_counts(rng: np.random.Generator, log_p: np.ndarray, repeats: int, tokens: int,
                    top_k: int) -> np.ndarray:
    """Gumbel-top-k sampling of ``top_k`` distinct experts per token, counted per expert."""
    layers, experts = log_p.shape
    counts = np.zeros((repeats, layers, experts), dtype=np.int64)
    per_repeat = layers * tokens * experts
    chunk = max(1, _MAX_DRAWS // max(per_repeat, 1))
    for start in range(0, repeats, chunk):
        stop = min(repeats, start + chunk)
        keys = log_p[None, :, None, :] + rng.gumbel(size=(stop - start, layers, tokens, experts))
        chosen = np.argpartition(-keys, top_k - 1, axis=-1)[..., :top_k]
        flat = (np.arange(stop - start)[:, None, None, None] * layers
                + np.arange(layers)[None, :, None, None]) * experts + chosen
        counts[start:stop] = np.bincount(flat.ravel(), minlength=(stop - start) * layers * experts) \
            .reshape(stop - start, layers, experts)
    return counts


def recorded_counts(histogram, tokens: int, experts: int, top_k: int) -> np.ndarray:
    """Split ``tokens x top_k`` in proportion to ``histogram`` (largest remainder, at most ``tokens`` each)."""
    hist = np.asarray(histogram, dtype=float)
    if hist.shape != (experts,):
        raise ConfigError(f"has {hist.size} entries, the model has {experts} experts", "routing.histogram")
    cap, remaining = np.full(experts, tokens), tokens * top_k
    counts = np.zeros(experts, dtype=np.int64)
    while remaining > 0:
        open_ = counts < cap
        share = np.where(open_, hist, 0.0)
        if share.sum() == 0:  # every expert the histogram favours is full
            share = open_.astype(float)
        ideal = remaining * share / share.sum()
        add = np.minimum(np.floor(ideal).astype(np.int64), cap - counts)
        room = (counts + add < cap) & (share > 0)
        order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
        extra = [e for e in order if room[e]][:remaining - int(add.sum())]
        add[extra] += 1
        counts += add
        remaining -= int(add.sum())
    return counts
