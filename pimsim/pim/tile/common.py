"""Shared pieces of the tile-level models: timing lookups, the timeline state, repetition, refresh.

A tile model follows the same kernel plan as the command level but never
issues commands one by one. It keeps a *timeline*: the tick of the last command
of each kind that later commands wait for (last MAC, last ACT, last read-out
...). Each segment of a kernel (a buffer fill, a burst of n MACs on one open
row, S row switches, a read-out) advances the timeline by a closed-form
expression over the timing parameters: for instance S MAC bursts of n columns,
each on a new row, take ``first + (S-1) * (max(tRCD_MAC + (n-1) tCCD + tRTP,
tRAS) + tRP)``.

Repeated blocks (groups of rows, chunks of the input) are evaluated three
times and extrapolated: once a block starts from the same relative state as the
one before, each further repetition shifts every time by the same period, so
``n`` repetitions cost ``prologue + (n-2) * period`` (:func:`repeat`).

Refresh: a refresh falls due every tREFI. The tile timeline records the
stretches between bank bursts; :func:`refresh_walk` places each refresh where it
falls (a burst defers it to the burst's end) and charges what it delays the
next burst by.
"""

from __future__ import annotations

import bisect
import dataclasses
import math

NEG = -10**12           # 'long ago': no command of that kind yet


class Lat:
    """Rule latencies between commands of one device (ticks), from its compiled timing tables."""

    def __init__(self, tables):
        self.tables = tables
        self._cache: dict = {}

    def __call__(self, a: str, b: str) -> int:
        """The largest latency of any rule from ``a`` to ``b`` (0 if none binds them)."""
        key = (a, b)
        found = self._cache.get(key)
        if found is None:
            t = self.tables
            ia, ib = t.cmd[a], t.cmd[b]
            found = max([lat for level in t.rules for f, lat, w, sib in level[ia]
                         if f == ib and w == 1 and not sib] or [0])
            self._cache[key] = found
        return found

    def param(self, name: str) -> int:
        return self.tables.cycles[name] * self.tables.tpc


@dataclasses.dataclass
class Timeline:
    """Ticks of the last command of each kind, the tick the next command may use, and counts."""

    t: int = 0                      # earliest tick for the next command (in-order, one per tick)
    last: dict = dataclasses.field(default_factory=dict)
    mode: bool = False              # register mode (AiM) / single-bank mode (HBM-PIM)
    open_row: int = -1              # row open in the kernel's banks (-1: closed)
    ready: int = 0                  # earliest tick the next instruction reaches the controller (AiM DMA)
    end: int = 0                    # last completion
    counts: dict = dataclasses.field(default_factory=dict)
    opened: frozenset = frozenset()                          # bank sets with a row open (host streams)
    windows: list | None = None     # (start, next burst start) of every stretch between bank bursts
    burst_end: int = -1             # tick of the last command of the last bank burst
    silences: list | None = None    # (start, end) after mode switches, when no command may issue
    group_counts: dict = dataclasses.field(default_factory=dict)   # counts over a whole channel group, not per channel

    def at(self, kind: str) -> int:
        return self.last.get(kind, NEG)

    def issue(self, kind: str, tick: int, n: int = 1) -> int:
        self.last[kind] = tick
        self.counts[kind] = self.counts.get(kind, 0) + n
        self.t = max(self.t, tick + 1)
        return tick

    def copy(self) -> Timeline:
        return Timeline(self.t, dict(self.last), self.mode, self.open_row, self.ready, self.end, dict(self.counts),
                        self.opened, None if self.windows is None else list(self.windows),
                        self.burst_end, None if self.silences is None else list(self.silences),
                        dict(self.group_counts))

    def silence(self, start: int, end: int) -> None:
        """No command may issue in [start, end) (a mode switch): a refresh falling due waits too."""
        if self.silences is not None:
            self.silences.append((start, end))

    def burst_span(self, opened: int, last: int) -> None:
        """A bank burst ended at ``last``; its rows opened (or, if they stayed open, had to be open) at
        ``opened``. The stretch from the previous burst's end to ``opened`` is a refresh window."""
        if self.windows is not None:
            self.windows.append((self.burst_end + 1, opened))
        self.burst_end = last


def repeat(state: Timeline, n: int, step) -> Timeline:
    """``step`` applied ``n`` times, in closed form: the first two repetitions are evaluated, the
    third gives the steady-state period, and the rest shift every time by that period."""
    if n <= 0:
        return state
    runs = [step(state.copy())]
    while len(runs) < min(n, 3):
        runs.append(step(runs[-1].copy()))
    if n <= 3:
        return runs[-1]
    first, second = runs[1], runs[2]
    k = n - 2
    out = second.copy()
    out.t = first.t + k * (second.t - first.t)
    out.ready = first.ready + k * (second.ready - first.ready)
    out.end = first.end + k * (second.end - first.end)
    out.burst_end = first.burst_end + k * (second.burst_end - first.burst_end)
    for key, v in second.last.items():
        if key in first.last:
            out.last[key] = first.last[key] + k * (v - first.last[key])
    for field in ("counts", "group_counts"):
        a, b = getattr(first, field), getattr(second, field)
        getattr(out, field).update({key: a.get(key, 0) + k * (v - a.get(key, 0)) for key, v in b.items()})
    period = second.t - first.t
    for field in ("windows", "silences"):
        a, b = getattr(first, field), getattr(second, field)
        if b is not None:
            new = b[len(a):]
            setattr(out, field, b + [(s + j * period, e + j * period) for j in range(1, k) for s, e in new])
    return out


def refresh_walk(st: Timeline, ticks: int, refi: int, cost: int, small: int) -> tuple[int, int]:
    """(duration, refreshes) with a refresh due every ``refi`` ticks, placed where it lands.

    A refresh due inside a bank burst waits for the burst's end (it never splits
    one); in a stretch between bursts it closes the rows at once, and the next
    burst's rows can open only ``cost`` (tRP + tRFC) later, so it delays the
    kernel by ``max(small, due + cost - the open that burst needed)``.
    """
    windows = st.windows or [(0, math.inf)]
    windows = windows + [(st.burst_end + 1, math.inf)]
    starts = [w[0] for w in windows]
    quiet = st.silences or []
    quiet_starts = [q[0] for q in quiet]
    delay = count = 0
    while (count + 1) * refi <= ticks + delay:
        due = (count + 1) * refi - delay
        i = max(bisect.bisect_right(starts, due) - 1, 0)
        start, nxt = windows[i]
        if due >= nxt:                      # inside the burst after window i: wait for its end
            i = min(i + 1, len(windows) - 1)
            start, nxt = windows[i]
            due = max(due, start)
        j = bisect.bisect_right(quiet_starts, due) - 1
        if j >= 0 and due < quiet[j][1]:
            due = quiet[j][1]                # the refresh waits out a mode switch, like any command
        delay += max(small, due + cost - nxt) if nxt != math.inf else small
        count += 1
    return ticks + delay, count
