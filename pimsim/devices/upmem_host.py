"""Host <-> DPU transfers on an UPMEM server: serial, parallel and broadcast.

The host writes DPU memory through the DDR interface, transposing bytes for
the chip layout, so transfer bandwidth is a property of the software stack as
much as of the bus (PrIM Sec. 3.4, Figs. 10-11):

* **serial** — one DPU after another (``dpu_copy_to`` in a loop): every byte
  goes at the one-DPU rate, however many DPUs there are;
* **parallel** — all DPUs of a rank at once (``dpu_push_xfer``): the rank's
  bandwidth grows sub-linearly with its DPUs, from the one-DPU rate to the
  full-rank rate; ranks transfer in parallel, limited by their DDR channel;
* **broadcast** — the same buffer to every DPU of a rank, counted per DPU.

Within a rank, n DPUs move data at ``B(n) = R n / (n + h)``, the saturating
curve through the two measured points ``B(1)`` (one DPU) and ``B(64)``
(a full rank). The ranks in use are spread round-robin over the server's DDR
channels (``ranks_per_channel`` each when all are used); ranks on one channel
share its ``channel_bw``. Broadcasts are not charged to the channel. An
optional ``host_bw`` caps all parallel transfers together: the host CPU does
the copying and transposing, and PIM-MMU (Lee et al., MICRO 2024) finds these
transfers CPU-bound; PrIM Fig. 11 reports sub-linear growth over ranks.
"""

from __future__ import annotations

import dataclasses
import math

from pimsim.core.config import param
from pimsim.core.errors import ConfigError

DIRECTIONS = ("to_dpu", "from_dpu")
MODES = ("serial", "parallel", "broadcast")


@dataclasses.dataclass(frozen=True, kw_only=True)
class HostTransfer:
    """Host <-> DPU transfer rates (PrIM Fig. 10) and the DDR channels they share."""

    to_dpu_one: float = param("CPU->DPU bandwidth to one DPU", unit="bandwidth", minimum=1)
    to_dpu_rank: float = param("CPU->DPU bandwidth of a parallel transfer to a full rank", unit="bandwidth",
                               minimum=1)
    from_dpu_one: float = param("DPU->CPU bandwidth from one DPU", unit="bandwidth", minimum=1)
    from_dpu_rank: float = param("DPU->CPU bandwidth of a parallel transfer from a full rank", unit="bandwidth",
                                 minimum=1)
    broadcast_rank: float = param("CPU->DPU broadcast to a full rank (bytes x DPUs / time)", unit="bandwidth",
                                  minimum=1)
    channel_bw: float = param("Peak bandwidth of one DDR channel", unit="bandwidth", minimum=1)
    ranks_per_channel: int = param("PIM ranks sharing one DDR channel", minimum=1)
    host_bw: float | None = param("Cap on all parallel transfers together: the host CPU's copy and transpose "
                                  "throughput (none: only ranks and channels limit)", unit="bandwidth", default=None)
    launch_overhead: int = param("Host-side cost of launching the DPUs once", unit="time", default="0ns")


def _saturating(one: float, full: float, rank_dpus: int, where: str) -> tuple[float, float]:
    """(R, h) of B(n) = R n / (n + h) with B(1) = one and B(rank_dpus) = full."""
    if rank_dpus == 1 or full <= one:
        return one, 0.0
    if one * rank_dpus <= full:
        raise ConfigError(f"a full rank ({full / 1e9:g} GB/s) is faster than {rank_dpus} single DPUs "
                          f"({one / 1e9:g} GB/s each) together", where)
    h = rank_dpus * (full - one) / (one * rank_dpus - full)
    return one * (1 + h), h


class HostLink:
    """Transfer times between the host and ``dpus`` DPUs of ``dpus_per_rank`` per rank."""

    def __init__(self, transfer: HostTransfer, dpus_per_rank: int, server_ranks: int):
        self.t = transfer
        self.dpus_per_rank = dpus_per_rank
        self.channels = max(1, math.ceil(server_ranks / transfer.ranks_per_channel))
        self.curves = {
            ("to_dpu", "parallel"): _saturating(transfer.to_dpu_one, transfer.to_dpu_rank, dpus_per_rank,
                                                "host.to_dpu_rank"),
            ("from_dpu", "parallel"): _saturating(transfer.from_dpu_one, transfer.from_dpu_rank, dpus_per_rank,
                                                  "host.from_dpu_rank"),
            ("to_dpu", "broadcast"): _saturating(transfer.to_dpu_one, transfer.broadcast_rank, dpus_per_rank,
                                                 "host.broadcast_rank"),
        }

    def one_dpu_bw(self, direction: str) -> float:
        return self.t.to_dpu_one if direction == "to_dpu" else self.t.from_dpu_one

    def rank_bw(self, n: int, direction: str, mode: str) -> float:
        """Bandwidth (bytes to all n DPUs per second) of one rank moving data for n of its DPUs."""
        if mode == "serial":
            return self.one_dpu_bw(direction)
        r, h = self.curves[(direction, mode)]
        return r * n / (n + h)

    def _ranks(self, dpus: int) -> list[int]:
        full, rest = divmod(dpus, self.dpus_per_rank)
        return [self.dpus_per_rank] * full + ([rest] if rest else [])

    def seconds(self, bytes_per_dpu: int, dpus: int, direction: str = "to_dpu", mode: str = "parallel") -> float:
        """Time to move ``bytes_per_dpu`` to (or from) each of ``dpus`` DPUs."""
        if direction not in DIRECTIONS or mode not in MODES:
            raise ValueError(f"direction {direction!r} / mode {mode!r}")
        if mode == "broadcast" and direction != "to_dpu":
            raise ValueError("broadcast only goes to the DPUs")
        if bytes_per_dpu <= 0 or dpus <= 0:
            return 0.0
        if mode == "serial":
            return dpus * bytes_per_dpu / self.one_dpu_bw(direction)
        ranks = self._ranks(dpus)
        rank_s = max(n * bytes_per_dpu / self.rank_bw(n, direction, mode) for n in ranks)
        if mode == "broadcast":
            return rank_s
        channels = min(self.channels, len(ranks))  # ranks in use are spread over the server's channels
        per_channel = [sum(ranks[c::channels]) for c in range(channels)]
        channel_s = max(n * bytes_per_dpu / self.t.channel_bw for n in per_channel)
        host_s = dpus * bytes_per_dpu / self.t.host_bw if self.t.host_bw else 0.0
        return max(rank_s, channel_s, host_s)

    def bandwidth(self, bytes_per_dpu: int, dpus: int, direction: str = "to_dpu", mode: str = "parallel") -> float:
        """Sustained bandwidth (total bytes / time) of one such transfer."""
        return bytes_per_dpu * dpus / self.seconds(bytes_per_dpu, dpus, direction, mode)
