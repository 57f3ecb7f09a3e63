"""NeuPIMs / Newton PIM kernels (architecture ``neupims``) at either fidelity.

:mod:`pimsim.pim.api` hands attention calls on a ``neupims`` device here. A
batch of ``batch`` requests is spread over ``channels`` channels, each request's
KV cache whole in one channel, and a channel runs its requests one after
another; the kernel's time is its busiest channel's (command level: the
channel's request stream on :class:`~pimsim.pim.engine.HostChannel`; tile
level: :class:`~pimsim.pim.tile.neupims.NeuPimsTile`).

The NPU pushes PIM transactions into the memory system one per ``tISSUE``, in
program order, through one queue that every channel of the device shares
(NeuPIMs' PIM load queue). A channel therefore never runs faster than
``issued x channels x tISSUE``, with all channels of the device running PIM
streams: NeuPIMs' COMPS_READRES (one transaction per head) stays far from this
bound; the naive Newton PIM, which issues every COMP and READRES on its own,
is held to it (about 32 x 37 tCK per score tile instead of 285).
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError
from pimsim.pim.kernels import neupims as kn
from pimsim.pim.kernels.plans import _ceil, channels_used, check_positive
from pimsim.pim.result import KernelResult

ELEM = 2


def is_neupims(spec) -> bool:
    return spec.arch.architecture == "neupims"


def _layout(spec) -> kn.Layout:
    return spec.cached("neupims-layout", lambda: kn.Layout(spec))


def check_attention(spec, seq: int, heads: int, head_dim: int, batch: int = 1, kv_heads: int | None = None,
                    channels: int | None = None) -> None:
    """Raise CapacityError if ``batch`` requests' KV caches do not fit the rows of their channels."""
    check_positive(batch=batch)
    c = channels_used(spec, channels)
    plan = kn.request_plan(spec, "score", seq, heads, head_dim, kv_heads)
    kn.check_fits(spec, plan, _ceil(batch, c))


def attention(spec, kind: str, seq: int, heads: int, head_dim: int, batch: int = 1, kv_heads: int | None = None,
              channels: int | None = None, fidelity: str | None = None, refresh=None) -> KernelResult:
    """Score (``kind="score"``) or context of ``batch`` requests of ``seq`` tokens."""
    from pimsim.pim.runner import check_fidelity, package, refresh_on

    check_positive(batch=batch)
    c = channels_used(spec, channels)
    plan = kn.request_plan(spec, kind, seq, heads, head_dim, kv_heads)
    per_channel = _ceil(batch, c)
    kn.check_fits(spec, plan, per_channel)
    fidelity = fidelity or spec.fidelity
    check_fidelity(fidelity)
    on = refresh_on(spec, refresh)
    if fidelity == "command":
        ticks, counts, refreshes = _command(spec, plan, per_channel, on)
    else:
        ticks, counts, refreshes = _tile(spec, plan, per_channel, on)
    tables = spec.tables()
    bound = _layout(spec).issued(counts) * spec.channels * tables.cycles["tISSUE"] * tables.tpc
    ticks = max(ticks, bound)
    used = min(batch, c)
    counts = {k: round(v * batch / per_channel) for k, v in counts.items() if v}
    shape = {"seq": seq, "heads": heads, "head_dim": head_dim, "batch": batch, "kv_heads": plan.kv_heads}
    data = ELEM * batch * (plan.kv_heads * seq * head_dim + heads * (head_dim + seq))
    name = "attention_score" if kind == "score" else "attention_context"
    return package(spec, name, shape, used, fidelity, ticks, counts, refreshes * used, data)


def _command(spec, plan, requests: int, refresh: bool):
    from pimsim.pim.engine import HostChannel
    from pimsim.pim.runner import host_scopes

    tables = spec.tables()
    lay = _layout(spec)
    chan = HostChannel(tables, refresh=refresh, scopes=host_scopes(spec))
    stride = plan.rows_per_bank()
    stream: list = []
    for i in range(requests):
        stream += kn.request_stream(lay, plan, 1 + i * stride)
    ticks = chan.run(stream)
    counts = {n: v for n, v in zip(tables.names, chan.state.counts) if v}
    return ticks, counts, chan.refreshes


def _tile(spec, plan, requests: int, refresh: bool):
    from pimsim.pim.tile.neupims import NeuPimsTile

    tile = spec.cached(("neupims-tile", refresh), lambda: NeuPimsTile(spec, track=refresh))
    st = tile.requests(plan, requests)
    ticks, nref = tile.finish(st, refresh)
    counts = dict(st.counts)
    if nref:
        scopes = spec.dram.organisation.pseudo_channels
        counts["REF"] = counts.get("REF", 0) + nref * scopes
        counts["PREA"] = counts.get("PREA", 0) + nref * scopes
    return ticks, counts, nref


def unsupported(spec, what: str):
    raise ConfigError(f"{spec.name}: NeuPIMs PIM runs the attention GEMVs of decode only (score and context); "
                      f"{what} runs on the NPU")
