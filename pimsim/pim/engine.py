"""In-order issue of a host-driven PIM command stream on one channel, at command level.

HBM-PIM and AttAcc-style PIM are driven by the host's memory controller: the
kernel is a fixed sequence of requests (fill the input buffer, open rows, MAC
columns, read results out) that must execute in program order. Each request
names its final command, its target key (:mod:`pimsim.pim.timing`) and a row;
the channel issues whatever that needs first — a close, then an open, a mode
switch — each at the earliest tick every rule allows and after the previous
command (one command per tick). A request whose command opens rows is a
*prefetch*: it only makes sure the rows are open.

Refresh (when on) is due every tREFI per refresh scope: before the first
command at or after the due tick that is not a column command on rows already
open (a refresh never splits a MAC burst; JEDEC lets a controller postpone it),
the channel closes the scope's rows, issues REF, and carries on (reopening rows
as requests need).
"""

from __future__ import annotations

import math

from pimsim.pim.timing import ChannelState

INF = math.inf


class HostChannel:
    """One channel (or a class of identical channels) executing a request stream in order."""

    def __init__(self, tables, refresh: bool = False, scopes: list[int] | None = None):
        self.tables = tables
        self.state = ChannelState(tables)
        c = tables.cmd
        self.prea, self.ref = c["PREA"], c["REF"]
        ms = tables.arch.mode_switch
        self.mode_cmd = c[ms.command] if ms else None
        self.register = {c[n] for n in ms.register} if ms else set()
        self.refi = tables.cycles["tREFI"] * tables.tpc
        self.next_ref = self.refi if refresh else INF
        nscopes = tables.counts[tables.scope_level]
        span = len(tables.levels) - 1
        self.scope_keys = [self._scope_key(s, span) for s in (range(nscopes) if scopes is None else scopes)]
        self.t = 0                    # earliest tick for the next command
        self.end = 0                  # last completion so far
        self.refreshes = 0

    def _scope_key(self, scope: int, span: int) -> tuple:
        t = self.tables
        key = []
        rest = scope
        for j in range(1, span + 1):
            if j <= t.scope_level:
                per = t.counts[t.scope_level] // t.counts[j]
                key.append(rest // per % t.sizes[j - 1])
            else:
                key.append(None)
        return tuple(key)

    def run(self, requests) -> int:
        """Issue every ``(cmd, key, row)`` request in order; return the tick the last one completes."""
        for cmd, key, row in requests:
            self._request(cmd, key, row)
        return self.end

    def _request(self, cmd: int, key, row: int) -> None:
        state, tables = self.state, self.tables
        opener = tables.role[cmd] == "open"
        closer = tables.role[cmd] == "close"
        while True:
            if closer and not state.any_open(key):
                return                           # nothing (left) to close, e.g. after a refresh
            nxt = state.next_command(cmd, key, row)
            if opener and nxt == cmd and self._is_open(key, row):
                return
            if self.mode_cmd is not None and (cmd in self.register) != state.register_mode:
                when = max(state.earliest(nxt, key), state.earliest(self.mode_cmd, key), self.t)
                if self._refresh_due(when):
                    continue
                state.register_mode = cmd in self.register
                self._issue(self.mode_cmd, key, when, -1)
                continue
            when = max(state.earliest(nxt, key), self.t)
            burst = nxt == cmd and tables.role[cmd] == "compute"
            if not burst and self._refresh_due(when):
                continue
            self._issue(nxt, key, when, row)
            if nxt == cmd:
                return

    def _is_open(self, key, row: int) -> bool:
        open_row = self.state.open_row
        return all(open_row[b] == row for b in self.tables.banks(key))

    def _issue(self, cmd: int, key, t: int, row: int) -> None:
        self.state.issue(cmd, key, t, row)
        self.t = t + 1
        done = t + self.tables.latency[cmd]
        if done > self.end:
            self.end = done

    def _refresh_due(self, when: float) -> bool:
        """Refresh every scope if ``when`` reached the due tick; True if it did."""
        if when < self.next_ref:
            return False
        state = self.state
        for key in self.scope_keys:
            if state.any_open(key):
                self._issue(self.prea, key, max(state.earliest(self.prea, key), self.t), -1)
            self._issue(self.ref, key, max(state.earliest(self.ref, key), self.t), -1)
        self.refreshes += 1
        self.next_ref += self.refi
        return True
