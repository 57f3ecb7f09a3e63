"""The PIM kernels as functions: what the placement layer calls.

Every function takes a PIM device — a preset name (``"gddr6-aim-pim"``), a
:class:`~pimsim.pim.spec.PimSpec`, or a ``pim-module`` config whose ``memory:``
is a PIM preset — and returns a :class:`~pimsim.pim.result.KernelResult`:

* ``time_ps`` (int, picoseconds) and ``cycles`` (device tCK),
* ``energy_J`` (dict of joules by component; ``energy_total_J`` their sum),
* ``commands`` (dict, all channels), ``bytes`` (dict), ``macs`` (int).

``fidelity="tile"`` is the closed-form model, microseconds of CPU per call;
``"command"`` issues every command (for validation and small shapes);
``None`` (default) takes the preset's ``fidelity:`` (``tile`` unless set).
``channels=None`` uses every channel of the device; ``refresh=None``
follows the preset (``"all-bank"`` or ``"none"`` to override).

Shapes (all in elements; FP16):

* :func:`gemv` — ``y[m] = W[m x k] x[k]`` for ``batch`` input vectors with W
  stationary in PIM (one vector at a time: PIM GEMV has no weight reuse);
* :func:`elementwise` — ``z = a + b`` or ``a * b`` over ``n`` elements;
* :func:`attention_score` — ``q . K^T`` over a KV cache of ``seq`` tokens,
  ``heads`` query heads of ``head_dim`` (``kv_heads`` for GQA), ``batch``
  sequences; :func:`attention_context` — ``p . V``; :func:`attention` — both
  plus the softmax hand-off between them (``parts`` holds the three pieces);
* :func:`check_gemv` / :func:`check_attention` — raise
  :class:`~pimsim.core.errors.CapacityError` if the data does not fit.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.core.units import format_bytes
from pimsim.pim import neupims
from pimsim.pim.kernels import aim as kaim
from pimsim.pim.kernels import aim_cent as kcent
from pimsim.pim.kernels import host as khost
from pimsim.pim.kernels.plans import (
    channels_used,
    check_positive,
    check_rows,
    elementwise_plan,
    gemv_plan,
    host_rows_per_bank,
)
from pimsim.pim.result import KernelResult
from pimsim.pim.runner import check_fidelity, run_aim, run_host
from pimsim.pim.spec import LAYOUTS, PimSpec, load_pim
from pimsim.pim.tile import aim_cent as tcent

ELEM = 2


@lru_cache(maxsize=64)
def _load_cached(name: str, search_path: str) -> PimSpec:
    return load_pim(name)


def _load(name: str) -> PimSpec:
    """A preset, loaded once per name and preset search path ($PIMSIM_PATH)."""
    return _load_cached(name, os.environ.get("PIMSIM_PATH", ""))


def device(dev) -> PimSpec:
    """A PIM spec from a preset name, a PimSpec, or a pim-module config (its ``memory:`` preset)."""
    if isinstance(dev, PimSpec):
        return dev
    if isinstance(dev, str):
        return _load(dev)
    memory = getattr(dev, "memory", None)
    if isinstance(memory, str):
        return _load(memory)
    raise ConfigError(f"expected a PIM preset name or spec, got {dev!r}")


def _layout(spec) -> khost.HostLayout:
    return spec.cached("host-layout", lambda: khost.HostLayout(spec))


def _is_aim(spec) -> bool:
    return spec.arch.architecture == "aim"


def _streams(spec) -> int:
    return _layout(spec).streams if not _is_aim(spec) else 1


# -- GEMV ------------------------------------------------------------------------------------
def check_gemv(dev, m: int, k: int, channels: int | None = None):
    """The GEMV plan, or CapacityError naming the limit (capacity, rows per bank)."""
    spec = device(dev)
    if neupims.is_neupims(spec):
        neupims.unsupported(spec, "a weight GEMV")
    c = channels_used(spec, channels)
    plan = gemv_plan(spec, m, k, c, _streams(spec))
    rows = plan.rows_per_unit * plan.chunks if _is_aim(spec) else host_rows_per_bank(plan, spec)[0]
    check_rows(rows, spec, f"W[{m}x{k}] on {c} channel(s)")
    return plan


def gemv(dev, m: int, k: int, batch: int = 1, channels: int | None = None, fidelity: str | None = None,
         refresh=None) -> KernelResult:
    """y[m] = W[m x k] x[k] for ``batch`` vectors, W stationary in the PIM banks."""
    spec = device(dev)
    check_positive(batch=batch)
    plan = check_gemv(spec, m, k, channels)
    c = plan.channels
    shape = {"m": m, "k": k, "batch": batch}
    data = ELEM * (m * k + batch * (m + k))
    if _is_aim(spec):
        return run_aim(spec, "gemv", shape, c, fidelity, refresh,
                       lambda: kaim.gemv_isrs(plan, spec.dram.organisation.channels, batch),
                       lambda tile: tile.gemv(plan, batch), data)
    layout = _layout(spec)
    return run_host(spec, "gemv", shape, c, fidelity, refresh,
                    lambda: khost.gemv_requests(layout, plan) * batch,
                    lambda tile: tile.gemv(plan, batch), data, c * layout.streams)


# -- element-wise ----------------------------------------------------------------------------
def elementwise(dev, op: str, n: int, channels: int | None = None, fidelity: str | None = None,
                refresh=None) -> KernelResult:
    """z = a + b (``op="add"``) or a * b (``"mul"``) over n elements held in the PIM banks."""
    if op not in ("add", "mul"):
        raise ConfigError(f"element-wise op must be 'add' or 'mul', got {op!r}")
    spec = device(dev)
    if neupims.is_neupims(spec):
        neupims.unsupported(spec, f"element-wise {op}")
    c = channels_used(spec, channels)
    shape = {"n": n, "op": op}
    if _is_aim(spec):
        plan = elementwise_plan(spec, n, c)
        return run_aim(spec, op, shape, c, fidelity, refresh,
                       lambda: kaim.elementwise_isrs(plan, spec.dram.organisation.channels, op),
                       lambda tile: tile.elementwise(plan, op), 3 * ELEM * n)
    layout = _layout(spec)
    if not layout.hbm_pim:
        raise ConfigError(f"{spec.name}: AttAcc-style PIM units do GEMVs only; element-wise operations "
                          "are not part of its command set")
    plan = elementwise_plan(spec, n, c, layout.streams)
    return run_host(spec, op, shape, c, fidelity, refresh, lambda: khost.elementwise_requests(layout, plan, op),
                    lambda tile: tile.elementwise(plan, op), 3 * ELEM * n, c * layout.streams)


# -- attention ---------------------------------------------------------------------------------
def _attention_args(spec, seq, heads, head_dim, batch, kv_heads, channels, layout, groups):
    """(channels per group, key/value heads, layout) of an attention call, validated."""
    check_positive(seq=seq, heads=heads, head_dim=head_dim, batch=batch, groups=groups)
    kv = heads if kv_heads is None else kv_heads
    check_positive(kv_heads=kv)
    if heads % kv:
        raise ConfigError(f"heads ({heads}) must be a multiple of kv_heads ({kv})")
    layout = layout or spec.attention_layout
    if layout not in LAYOUTS:
        raise ConfigError(f"attention layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "cent" and not _is_aim(spec):
        raise ConfigError(f"layout 'cent' is CENT's GDDR6-AiM layout; {spec.name} has only 'dense'")
    c = channels_used(spec, channels)
    if c * groups > spec.channels:
        raise CapacityError(f"{groups} groups of {c} channels need {c * groups} channels but {spec.name} has "
                            f"{spec.channels}", "groups")
    return c, kv, layout


def _host_pieces(spec, layout, c, pieces):
    """Pieces (head x sequence GEMVs) per stream when they spread over c channels' streams."""
    return -(-pieces // (c * layout.streams))


def check_attention(dev, seq: int, heads: int, head_dim: int, batch: int = 1, kv_heads: int | None = None,
                    channels: int | None = None, layout: str | None = None, groups: int = 1) -> None:
    """Raise CapacityError if the KV cache layout does not fit the banks."""
    spec = device(dev)
    if neupims.is_neupims(spec):                     # NeuPIMs: per-request layouts (pimsim.pim.neupims)
        return neupims.check_attention(spec, seq, heads, head_dim, batch, kv_heads, channels)
    c, kv, layout = _attention_args(spec, seq, heads, head_dim, batch, kv_heads, channels, layout, groups)
    if _is_aim(spec):
        elems = spec.compute.buffer // spec.elem_bytes
        if head_dim > elems:
            raise CapacityError(f"head_dim {head_dim} does not fit the {format_bytes(spec.compute.buffer)} global "
                                f"buffer of {spec.name} ({elems} FP16): the score layout needs one head's q in it",
                                "shape")
        if layout == "cent":
            rows = sum(kcent.CentAttention(seq, heads, kv, head_dim, c, groups).rows())
            check_rows(batch * rows, spec, f"the KV cache and scores of {batch} x {seq} tokens")
            return
        k_rows, v_rows = kaim.attention_rows(seq, kv, head_dim, c)
        check_rows(batch * (k_rows + v_rows), spec, f"the KV cache of {batch} x {seq} tokens")
        return
    layout = _layout(spec)
    per = _host_pieces(spec, layout, c, batch * kv)
    rows = host_rows_per_bank(gemv_plan(spec, seq, head_dim, 1, 1, spread=layout.units), spec)[0]
    rows += host_rows_per_bank(gemv_plan(spec, head_dim, seq, 1, 1, spread=layout.units), spec)[0]
    check_rows(per * rows, spec, f"the KV cache of {batch} x {kv} heads x {seq} tokens")


def _attention_piece(piece, dev, seq, heads, head_dim, batch, kv_heads, channels, fidelity, refresh, layout,
                     groups) -> KernelResult:
    spec = device(dev)
    if neupims.is_neupims(spec):
        return neupims.attention(spec, piece, seq, heads, head_dim, batch, kv_heads, channels, fidelity, refresh)
    check_attention(spec, seq, heads, head_dim, batch, kv_heads, channels, layout, groups)
    c, kv, layout = _attention_args(spec, seq, heads, head_dim, batch, kv_heads, channels, layout, groups)
    kernel = f"attention_{piece}"
    shape = {"seq": seq, "heads": heads, "head_dim": head_dim, "batch": batch, "kv_heads": kv}
    data = ELEM * batch * (kv * seq * head_dim + heads * (head_dim + seq))
    if not _is_aim(spec):
        m, k = (seq, head_dim) if piece == "score" else (head_dim, seq)
        return _host_attention(spec, kernel, shape, c, fidelity, refresh, data, m=m, k=k, pieces=batch * heads)
    nch = spec.dram.organisation.channels
    shape["layout"] = layout
    if layout == "cent":
        geo = kcent.CentAttention(seq, heads, kv, head_dim, c, groups)
        isrs, tiled = (kcent.score_isrs, tcent.score) if piece == "score" else (kcent.context_isrs, tcent.context)
        return run_aim(spec, kernel, shape, c, fidelity, refresh, lambda: isrs(geo, nch, batch),
                       lambda tile: tiled(tile, geo, batch), data, groups)
    rep = heads // kv
    if piece == "score":
        return run_aim(spec, kernel, shape, c, fidelity, refresh,
                       lambda: kaim.score_isrs(seq, kv, head_dim, c, nch, batch, rep),
                       lambda tile: tile.score(seq, kv, head_dim, c, batch, rep), data, groups)
    return run_aim(spec, kernel, shape, c, fidelity, refresh,
                   lambda: kaim.context_isrs(seq, kv, head_dim, c, nch, batch, rep),
                   lambda tile: tile.context(seq, kv, head_dim, c, batch, rep), data, groups)


def attention_score(dev, seq: int, heads: int, head_dim: int, batch: int = 1, kv_heads: int | None = None,
                    channels: int | None = None, fidelity: str | None = None, refresh=None,
                    layout: str | None = None, groups: int = 1) -> KernelResult:
    """Scores q . K^T of one new token per sequence over its KV cache of ``seq`` tokens.

    ``layout`` (AiM): ``dense`` or ``cent`` (CENT's, which ends with the softmax's scale pass through
    the banks); None takes the preset's ``attention_layout``. ``groups``: channel groups of the
    device running the same kernel in lockstep on ``channels`` channels each (CENT: one transformer
    block per group); their plain memory lines share the device's instruction DMA. The result is
    one group's (commands, energy); its time includes what the other groups cost it.
    """
    return _attention_piece("score", dev, seq, heads, head_dim, batch, kv_heads, channels, fidelity, refresh,
                            layout, groups)


def attention_context(dev, seq: int, heads: int, head_dim: int, batch: int = 1, kv_heads: int | None = None,
                      channels: int | None = None, fidelity: str | None = None, refresh=None,
                      layout: str | None = None, groups: int = 1) -> KernelResult:
    """Context p . V of one new token per sequence (p: softmax probabilities over ``seq`` tokens).

    ``layout`` ``cent`` starts with the softmax's normalise pass through the banks; ``layout`` and
    ``groups`` as :func:`attention_score`.
    """
    return _attention_piece("context", dev, seq, heads, head_dim, batch, kv_heads, channels, fidelity, refresh,
                            layout, groups)


def _host_attention(spec, kernel, shape, c, fidelity, refresh, data, m, k, pieces) -> KernelResult:
    layout = _layout(spec)
    plan = gemv_plan(spec, m, k, 1, 1, spread=layout.units)
    per = _host_pieces(spec, layout, c, pieces)
    used = min(c * layout.streams, pieces)
    return run_host(spec, kernel, shape, c, fidelity, refresh, lambda: khost.gemv_requests(layout, plan, per),
                    lambda tile: tile.gemv(plan, 1, pieces=per), data, used)


def softmax_time_ps(dev, seq: int, heads: int, batch: int = 1) -> int:
    """Time of the softmax hand-off between score and context (near-memory units or host)."""
    spec = device(dev)
    s = spec.softmax
    return int(round(5 * seq * heads * batch / s.flops * 1e12)) + s.latency


def attention(dev, seq: int, heads: int, head_dim: int, batch: int = 1, kv_heads: int | None = None,
              channels: int | None = None, fidelity: str | None = None, refresh=None, layout: str | None = None,
              groups: int = 1) -> KernelResult:
    """Score GEMV, softmax hand-off, context GEMV, one after another; ``parts`` holds each."""
    spec = device(dev)
    fidelity = fidelity or spec.fidelity
    check_fidelity(fidelity)
    score = attention_score(spec, seq, heads, head_dim, batch, kv_heads, channels, fidelity, refresh, layout, groups)
    context = attention_context(spec, seq, heads, head_dim, batch, kv_heads, channels, fidelity, refresh, layout,
                                groups)
    soft_ps = softmax_time_ps(spec, seq, heads, batch)
    time_ps = score.time_ps + soft_ps + context.time_ps
    energy = {k: score.energy_J[k] + context.energy_J[k] for k in score.energy_J}
    commands = {k: score.commands.get(k, 0) + context.commands.get(k, 0)
                for k in set(score.commands) | set(context.commands)}
    nbytes = {k: score.bytes[k] + context.bytes[k] for k in score.bytes}
    nbytes["data"] = score.bytes["data"]
    softmax = KernelResult("softmax", spec.name, fidelity, {"seq": seq, "heads": heads, "batch": batch},
                           score.channels, 0, soft_ps, {k: 0.0 for k in energy}, {}, {}, 0)
    return KernelResult("attention", spec.name, fidelity, score.shape, score.channels,
                        round(time_ps / spec.tck_ps),
                        time_ps, energy, commands, nbytes, score.macs + context.macs,
                        score.refreshes + context.refreshes, parts=(score, softmax, context))

