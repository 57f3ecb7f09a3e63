"""One GDDR6-AiM channel controller: AiM requests strictly in order, plain reads/writes FR-FCFS.

The controller CENT's simulator uses (aim_simulator's ``AiM`` controller),
re-modelled on pimsim's timing tables (:mod:`pimsim.pim.timing`). Per tick:

1. the oldest finished blocking request (RD_MAC, RD_AF, SYNC, EOC) is reported
   to the DMA — one per tick; SYNC/EOC only once no write is still in flight;
2. a due refresh (pimsim only; the reference never refreshes) closes the rows
   and issues REF before anything else — unless the head request is a column
   command on rows already open (a MAC burst): then the refresh waits for the
   burst's row switch (JEDEC lets a controller postpone refreshes), so it never
   splits a burst;
3. otherwise the head AiM request, or the best plain request (ready row hits,
   then oldest; activated requests first; writes drained between watermarks),
   issues its next command if legal: a PREA/PRE, an ACT16/ACT, or its own
   command — preceded by ``TMOD`` whenever it switches between register
   commands and bank commands. SYNC/EOC also wait for plain requests whose
   row is already open (the reference could let EOC overtake them).

AiM requests and plain requests never share the buffers (33 entries each).
The controller is event-driven: :meth:`AimChannel.tick` returns the next tick
at which anything can change, and the system wakes it then.
"""

from __future__ import annotations

from collections import deque

from pimsim.pim.timing import ChannelState

INF = float("inf")
AIM, READ, WRITE, SYNC = 0, 1, 2, 3
CAPACITY = 33           # a buffer accepts a request while it holds at most 32


class Request:
    """One per-channel request: a column of an AiM instruction, a plain access, or SYNC/EOC."""

    __slots__ = ("cmd", "key", "row", "kind", "blocking", "register", "arrive", "depart")

    def __init__(self, cmd, key, row, kind, blocking=False, register=False):
        self.cmd, self.key, self.row, self.kind = cmd, key, row, kind
        self.blocking, self.register = blocking, register
        self.arrive = self.depart = 0


class AimChannel:
    """The controller of one channel (or of a class of identical channels, ``weight`` of them)."""

    def __init__(self, system, index: int, tables, weight: int = 1, refresh: bool = False):
        self.system, self.index, self.weight = system, index, weight
        self.tables = tables
        self.state = ChannelState(tables)
        self.aim: deque = deque()
        self.reads: list = []
        self.writes: list = []
        self.active: list = []
        self.pending_reads: deque = deque()
        self.last_write_depart = -1
        self.write_mode = False
        c = tables.cmd
        self.tmod = c.get(tables.arch.mode_switch.command) if tables.arch.mode_switch else None
        self.prea, self.ref = c["PREA"], c["REF"]
        self.act, self.pre = c["ACT"], c["PRE"]
        cycles = tables.spec.cycles
        self.refi = cycles["tREFI"] * tables.tpc
        self.next_ref = self.refi if refresh else INF
        self.refresh_pending = False
        self.all_key = tuple(None for _ in tables.levels[1:])
        self.issued_last = -1

    # -- arrivals ------------------------------------------------------------
    def send(self, req: Request, t: int) -> bool:
        """Offer ``req`` at tick ``t``; False if its buffer is full or holds the other kind."""
        if req.kind in (AIM, SYNC):
            if self.reads or self.writes:
                return False
            buf = self.aim
        else:
            if self.aim:
                return False
            if req.kind == READ and any(w.key == req.key and w.row == req.row for w in self.writes):
                req.depart = t + 1                      # forwarded from a queued write
                self.pending_reads.append(req)
                return True
            buf = self.reads if req.kind == READ else self.writes
        if len(buf) >= CAPACITY:
            return False
        req.arrive = t
        buf.append(req)
        return True

    def idle(self) -> bool:
        return not (self.aim or self.reads or self.writes or self.active or self.pending_reads)

    # -- one tick -------------------------------------------------------------
    def tick(self, t: int) -> float:
        """Run controller tick ``t``; return the next tick worth waking for."""
        self._serve_completed(t)
        if t >= self.next_ref:
            self.refresh_pending = True
            self.next_ref += self.refi
        if self.refresh_pending and self._refresh_now():
            self._refresh(t)
        else:
            self._schedule(t)
        return self._next_wake(t)

    def _refresh_now(self) -> bool:
        """Refresh before the head request unless it continues a burst on open rows."""
        if not self.aim:
            return True
        req = self.aim[0]
        if req.kind == SYNC or self.tables.role[req.cmd] != "compute":
            return True
        return self.state.next_command(req.cmd, req.key, req.row) != req.cmd

    def _serve_completed(self, t: int) -> None:
        pr = self.pending_reads
        if pr and pr[0].depart <= t:
            req = pr[0]
            if req.kind != SYNC or self.last_write_depart < t:
                pr.popleft()
                if req.blocking:
                    self.system.receive(self, t)

    def _refresh(self, t: int) -> None:
        state = self.state
        if state.any_open(self.all_key):
            cmd = self.prea
        else:
            cmd = self.ref
        if state.earliest(cmd, self.all_key) <= t and t > self.issued_last:
            self._issue(cmd, self.all_key, t, -1)
            if cmd == self.ref:
                self.refresh_pending = False

    def _schedule(self, t: int) -> None:
        req = self._pick_active(t)
        if req is None and self.aim:
            req = self.aim[0]
            if req.kind == SYNC:
                if self.active:                  # wait for activated plain requests to finish first
                    return
                self.aim.popleft()
                req.depart = t
                self.pending_reads.append(req)
                self.system.slot_freed(self, t)
                return
            cmd = self.state.next_command(req.cmd, req.key, req.row)
            if self.state.earliest(cmd, req.key) > t:
                return
        elif req is None:
            req = self._pick_plain(t)
            if req is None:
                return
            cmd = self.state.next_command(req.cmd, req.key, req.row)
        else:
            cmd = req.cmd
        self._serve(req, cmd, t)

    def _serve(self, req: Request, cmd: int, t: int) -> None:
        state = self.state
        if self.tmod is not None and req.register != state.register_mode:
            state.register_mode = req.register
            self._issue(self.tmod, None, t, -1)
            return
        self._issue(cmd, req.key, t, req.row)
        if cmd == req.cmd:
            req.depart = t + self.tables.latency[cmd]
            self._retire(req, t)
        elif req.kind != AIM and self.tables.role[cmd] == "open":
            (self.reads if req.kind == READ else self.writes).remove(req)
            self.active.append(req)
            self.system.slot_freed(self, t)

    def _retire(self, req: Request, t: int) -> None:
        if req.kind == AIM:
            self.aim.popleft()
        elif req in self.active:
            self.active.remove(req)
        else:
            (self.reads if req.kind == READ else self.writes).remove(req)
        if req.blocking or req.kind == READ:
            self.pending_reads.append(req)
        elif req.depart > self.last_write_depart:
            self.last_write_depart = req.depart
        self.system.slot_freed(self, t)

    def _issue(self, cmd: int, key, t: int, row: int) -> None:
        self.state.issue(cmd, key, t, row)
        self.issued_last = t

    # -- plain requests (FR-FCFS) -------------------------------------------------
    def _pick_active(self, t: int):
        best = None
        for req in self.active:
            if self.state.earliest(req.cmd, req.key) <= t and (best is None or req.arrive < best.arrive):
                best = req
        return best

    def _pick_plain(self, t: int):
        self._set_write_mode()
        queue = self.writes if self.write_mode else self.reads
        best, best_ready = None, False
        for req in queue:
            cmd = self.state.next_command(req.cmd, req.key, req.row)
            ready = self.state.earliest(cmd, req.key) <= t
            if ready and cmd == self.pre and any(a.key == req.key for a in self.active):
                ready = False                    # never close a row an activated request still needs
            if best is None or (ready and not best_ready) or (ready == best_ready and req.arrive < best.arrive):
                best, best_ready = req, ready
        return best if best_ready else None

    def _set_write_mode(self) -> None:
        w, r = len(self.writes), len(self.reads)
        if not self.write_mode:
            self.write_mode = w > 0.8 * (CAPACITY - 1) or r == 0
        elif w < 0.2 * (CAPACITY - 1) and r != 0:
            self.write_mode = False

    # -- when to wake next ------------------------------------------------------
    def _next_wake(self, t: int) -> float:
        soon = INF if self.next_ref == INF else max(self.next_ref, t + 1)
        pr = self.pending_reads
        if pr:
            head = pr[0]
            due = head.depart if head.kind != SYNC else max(head.depart, self.last_write_depart + 1)
            soon = min(soon, max(due, t + 1))
        state = self.state
        if self.refresh_pending and self._refresh_now():
            cmd = self.prea if state.any_open(self.all_key) else self.ref
            return min(soon, max(state.earliest(cmd, self.all_key), t + 1))
        if self.aim and not (self.aim[0].kind == SYNC and self.active):
            req = self.aim[0]
            if req.kind == SYNC:
                return t + 1
            cmd = state.next_command(req.cmd, req.key, req.row)
            soon = min(soon, max(state.earliest(cmd, req.key), t + 1))
            for req in self.active:              # activated plain requests go before the AiM head
                soon = min(soon, max(state.earliest(req.cmd, req.key), t + 1))
            return soon
        for req in self.active + self.reads + self.writes:
            cmd = state.next_command(req.cmd, req.key, req.row)
            soon = min(soon, max(state.earliest(cmd, req.key), t + 1))
        return soon
