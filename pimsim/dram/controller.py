"""The command-level memory controller of one DRAM channel.

What it models (per channel): read and write queues shared by the channel's
pseudo-channels, FR-FCFS scheduling (the oldest request whose next command is
legal now goes first), open or closed row policy, all-bank refresh per
refresh scope (pseudo-channel / rank), write draining between watermarks,
read-after-write forwarding and write coalescing, and every timing constraint
of the device's family (:mod:`pimsim.dram.timing`).

How it runs: the controller is event-driven on a SimPy environment. It does not
tick every cycle; after each decision it computes the next controller tick at
which any queued command could become legal (or a refresh falls due) and
sleeps until then, or until the frontend brings a new request.

Scheduling follows Ramulator 2.1's controllers so that the two can be compared
cycle for cycle: a request whose ACT has issued waits in an "active" list and
its column command is served first; refreshes wait in a priority queue that
blocks ordinary requests; a precharge is never issued to a bank whose
activated request has not been served. With a dual command bus (HBM) one row
and one column command may issue per tick; HBM3 issues column commands, ACT
and REF on rising clock edges and PRE also on falling edges.
"""

from __future__ import annotations

from array import array

from pimsim.dram.family import CMD
from pimsim.dram.timing import ChannelTiming, TimingTables

ACT, PRE, PREA, RD, WR, RDA, WRA, REF = (CMD[c] for c in ("ACT", "PRE", "PREA", "RD", "WR", "RDA", "WRA", "REF"))
INF = float("inf")


class Request:
    """One memory access as the controller sees it."""

    __slots__ = ("seq", "write", "bank", "row", "key", "arrive", "counted", "scope")

    def __init__(self, seq, write, bank, row, key, arrive, scope):
        self.seq = seq          # arrival order in this channel (FR-FCFS age)
        self.write = write
        self.bank = bank        # flat bank index within the channel
        self.row = row
        self.key = key          # unique per address, for forwarding/coalescing
        self.arrive = arrive    # tick
        self.counted = False    # row hit/miss/conflict recorded
        self.scope = scope      # refresh scope (pseudo-channel / rank) index


class RequestQueue:
    """A read or write queue, kept per bank for fast FR-FCFS candidate search.

    For every bank it knows how many queued requests hit the bank's open row
    (``nhit``), so the scheduler visits only banks with a hit when looking for a
    column command and only banks with a miss when looking for a row command.
    """

    __slots__ = ("by_bank", "busy", "hit_banks", "nhit", "size", "capacity", "open_row")

    def __init__(self, open_row: list, capacity: int):
        nbanks = len(open_row)
        self.open_row = open_row            # shared with the controller
        self.by_bank = [[] for _ in range(nbanks)]
        self.busy: dict[int, None] = {}     # banks with queued requests (ordered set)
        self.hit_banks: dict[int, None] = {}
        self.nhit = [0] * nbanks
        self.size = 0
        self.capacity = capacity

    def add(self, req: Request) -> None:
        bank = req.bank
        self.by_bank[bank].append(req)
        self.busy[bank] = None
        self.size += 1
        if self.open_row[bank] == req.row:
            self.nhit[bank] += 1
            self.hit_banks[bank] = None

    def remove(self, req: Request) -> None:
        bank = req.bank
        lst = self.by_bank[bank]
        lst.remove(req)
        if not lst:
            del self.busy[bank]
        self.size -= 1
        if self.open_row[bank] == req.row:
            self.nhit[bank] -= 1
            if not self.nhit[bank]:
                del self.hit_banks[bank]

    def row_changed(self, bank: int) -> None:
        """Recount hits after the bank's open row changed (ACT) or closed."""
        row = self.open_row[bank]
        n = sum(1 for r in self.by_bank[bank] if r.row == row) if row >= 0 else 0
        self.nhit[bank] = n
        if n:
            self.hit_banks[bank] = None
        else:
            self.hit_banks.pop(bank, None)


class ChannelStats:
    """Counters of one channel; summed by :mod:`pimsim.dram.stats`."""

    def __init__(self, nbanks: int):
        self.commands = [0] * len(CMD)
        self.row_hits = self.row_misses = self.row_conflicts = 0
        self.reads = self.writes = 0
        self.forwarded = self.coalesced = 0
        self.read_latency = array("q")
        self.last_done = 0
        self.bank_busy = [0] * nbanks
        self.refresh_requested = 0


class ChannelController:
    """Schedules the requests of one channel onto its DRAM banks."""

    def __init__(self, tables: TimingTables, ctrl_cfg, index: int, scheduler, refresh: bool):
        spec = tables.spec
        self.tables = tables
        self.index = index
        self.sched = scheduler                    # MemorySystem: wake-ups and frontend notices
        self.timing = ChannelTiming(tables)
        nb = tables.nbanks
        self.open_row = [-1] * nb
        self.opened_at = [0] * nb
        self.reads = RequestQueue(self.open_row, ctrl_cfg.read_queue)
        self.writes = RequestQueue(self.open_row, ctrl_cfg.write_queue)
        self.active: list[Request] = []
        self.active_in_bank = [0] * nb
        self.active_in_scope = [0] * tables.nscopes
        self.priority: list[int] = []             # scopes waiting for REF
        self.write_mode = False
        self.hi_mark = ctrl_cfg.write_high_watermark * ctrl_cfg.write_queue
        self.lo_mark = ctrl_cfg.write_low_watermark * ctrl_cfg.write_queue
        self.write_keys: dict[int, int] = {}
        self.closed_policy = ctrl_cfg.row_policy == "closed"
        self.refi = spec.cycles["tREFI"] * tables.tpc
        self.next_refresh = self.refi if refresh else INF
        self.dual = spec.family.command_bus == "dual"
        self.hbm3 = spec.family.clock_edges == "hbm3"
        self.t_rp = spec.cycles["tRP"] * tables.tpc
        self.pair = (-1, -1, -1, -1)              # HBM3: (cmd, scope, bank, falling tick) of last rising row cmd
        self.seq = 0
        self.stats = ChannelStats(nb)

    # -- arrivals -------------------------------------------------------
    def offer(self, write: bool, bank: int, row: int, key: int, t: int):
        """A request arrives before tick ``t``.

        Returns None if its queue is full, True if it was absorbed at once
        (forwarded from or coalesced with a queued write), else the queued Request.
        """
        stats = self.stats
        if key in self.write_keys:
            if write:                                # coalesce with the queued write
                stats.coalesced += 1
                stats.writes += 1
                stats.last_done = max(stats.last_done, t - 1)
            else:                                    # forward the queued write's data
                stats.forwarded += 1
                stats.reads += 1
                stats.read_latency.append(1)
                stats.last_done = max(stats.last_done, t)
            return True
        queue = self.writes if write else self.reads
        if queue.size >= queue.capacity:
            return None
        self.seq += 1
        req = Request(self.seq, write, bank, row, key, t - 1, bank // self.tables.banks_per_scope)
        queue.add(req)
        if write:
            self.write_keys[key] = 1
        return req

    def arrival_wake(self, req: Request, t: int) -> float:
        """Earliest tick >= ``t`` at which newly queued ``req`` could change a decision."""
        if self.priority:
            return INF                     # requests wait for the refresh; its wake-ups cover them
        w, r = self.writes.size, self.reads.size
        if (w > self.hi_mark or r == 0) if not self.write_mode else (w < self.lo_mark and r != 0):
            return t                       # the write/read mode will switch: re-evaluate everything
        if req.write != self.write_mode:
            return INF
        bank = req.bank
        orow = self.open_row[bank]
        if orow == req.row:
            return self._edge(self.timing.earliest(WR if req.write else RD, bank), t - 1, True)
        if orow < 0:
            return self._edge(self.timing.earliest(ACT, bank), t - 1, True)
        if self.active_in_bank[bank]:
            return INF
        return self._edge(self.timing.earliest(PRE, bank), t - 1, False)

    def idle(self) -> bool:
        return not (self.reads.size or self.writes.size or self.active or self.priority)

    # -- one controller tick ------------------------------------------------
    def tick(self, t: int) -> int:
        """Issue what may issue at tick ``t``; return the next tick worth waking for."""
        while t >= self.next_refresh:
            self.priority.extend(range(self.tables.nscopes))
            self.stats.refresh_requested += self.tables.nscopes
            self.next_refresh += self.refi
        if self.dual:
            self._tick_dual(t)
        else:
            self._tick_single(t)
        return self._next_wake(t)

    def _tick_dual(self, t: int) -> bool:
        issued = False
        rising = not self.hbm3 or t & 1
        if rising:
            req = self._pick_active(t)
            if req is None and not self.priority:
                req = self._pick_queue(t, column=True, row=False)
            if req is not None:
                self._issue_column(req, t)
                issued = True
        if self.priority:
            if self._try_refresh(t, rising):
                issued = True
        else:
            req = self._pick_queue(t, column=False, row=True, rising=rising)
            if req is not None:
                self._issue_row(req, t, rising)
                issued = True
        return issued

    def _tick_single(self, t: int) -> bool:
        req = self._pick_active(t)
        if req is not None:
            self._issue_column(req, t)
            return True
        if self.priority:
            return self._try_refresh(t, True)
        req = self._pick_queue(t, column=True, row=True)
        if req is None:
            return False
        if self.open_row[req.bank] == req.row:
            self._issue_column(req, t)
        else:
            self._issue_row(req, t, True)
        return True

    # -- candidate selection ----------------------------------------------
    def _set_write_mode(self) -> None:
        if not self.write_mode:
            if self.writes.size > self.hi_mark or self.reads.size == 0:
                self.write_mode = True
        elif self.writes.size < self.lo_mark and self.reads.size != 0:
            self.write_mode = False

    def _pick_active(self, t: int):
        """Oldest activated request whose column command is legal now."""
        best = None
        earliest = self.timing.earliest
        for req in self.active:
            if (best is None or req.arrive < best.arrive) and earliest(WR if req.write else RD, req.bank) <= t:
                best = req
        return best

    def _scope_ready(self, cmd: int) -> list:
        """Per refresh scope: earliest tick allowed by the channel- and scope-level rules."""
        get = self.timing.ready.__getitem__
        return [max(map(get, offs)) for offs in self.tables.upper[cmd]]

    def _pick_queue(self, t: int, column: bool, row: bool, rising: bool = True):
        """Oldest queued request whose next command (of the allowed kind) is legal now.

        A command's earliest tick is max(shared part, per-bank part); the shared
        part (channel and pseudo-channel/rank rules) is computed once per scope.
        """
        self._set_write_mode()
        queue = self.writes if self.write_mode else self.reads
        if not queue.size:
            return None
        col_cmd = WR if self.write_mode else RD
        ready = self.timing.ready
        low = self.tables.low
        col_up = self._scope_ready(col_cmd) if column else None
        act_up = self._scope_ready(ACT) if row and rising else None
        pre_up = self._scope_ready(PRE) if row else None
        col_low, act_low, pre_low = low[col_cmd], low[ACT], low[PRE]
        open_row, by_bank, active_in_bank, nhit = self.open_row, queue.by_bank, self.active_in_bank, queue.nhit
        best = None
        best_seq = INF
        for bank in (queue.busy if row else queue.hit_banks):
            reqs = by_bank[bank]
            first = reqs[0]
            if first.seq >= best_seq:
                continue
            sc = first.scope
            orow = open_row[bank]
            if orow < 0:
                if act_up is not None and act_up[sc] <= t and ready[act_low[bank]] <= t:
                    best, best_seq = first, first.seq
                continue
            hits = nhit[bank]
            hit_ok = hits and column and col_up[sc] <= t and ready[col_low[bank]] <= t
            miss_ok = (row and hits < len(reqs) and not active_in_bank[bank] and pre_up[sc] <= t
                       and ready[pre_low[bank]] <= t
                       and (rising or self._falling_pre_ok(PRE, sc, bank, t)))
            if not (hit_ok or miss_ok):
                continue
            for req in reqs:
                if req.seq >= best_seq:
                    break
                if req.row == orow:
                    if hit_ok:
                        best, best_seq = req, req.seq
                        break
                elif miss_ok:
                    best, best_seq = req, req.seq
                    break
        return best

    def _falling_pre_ok(self, cmd: int, scope: int, bank: int, t: int) -> bool:
        """HBM3: may a PRE share the falling edge after a rising-edge row command?"""
        pcmd, pscope, pbank, ptick = self.pair
        if t != ptick or pscope != scope:
            return True
        if pbank < 0:          # all-bank command on the rising edge
            return False
        return cmd == PRE and bank != pbank

    # -- issuing ------------------------------------------------------------
    def _count(self, req: Request) -> None:
        if req.counted:
            return
        req.counted = True
        orow = self.open_row[req.bank]
        if orow == req.row:
            self.stats.row_hits += 1
        elif orow >= 0:
            self.stats.row_conflicts += 1
        else:
            self.stats.row_misses += 1

    def _queue_of(self, req: Request) -> RequestQueue:
        return self.writes if req.write else self.reads

    def _issue_row(self, req: Request, t: int, rising: bool) -> None:
        bank = req.bank
        self._count(req)
        if self.open_row[bank] < 0:
            self.timing.issue(ACT, bank, t)
            self.stats.commands[ACT] += 1
            self._queue_of(req).remove(req)
            self.open_row[bank] = req.row
            self.opened_at[bank] = t
            self.reads.row_changed(bank)
            self.writes.row_changed(bank)
            if req.write:
                self.write_keys.pop(req.key, None)
            self.active.append(req)
            self.active_in_bank[bank] += 1
            self.active_in_scope[req.scope] += 1
            self.sched.space_freed(self.index, req.write, t)
            cmd = ACT
        else:
            self._close(bank, t)
            cmd = PRE
        if self.hbm3 and rising:
            self.pair = (cmd, req.scope, bank, t + (3 if cmd == ACT else 1))

    def _close(self, bank: int, t: int) -> None:
        self.timing.issue(PRE, bank, t)
        self.stats.commands[PRE] += 1
        self._row_closed(bank, t)

    def _row_closed(self, bank: int, t: int) -> None:
        self.stats.bank_busy[bank] += t - self.opened_at[bank] + self.t_rp
        self.open_row[bank] = -1
        self.reads.row_changed(bank)
        self.writes.row_changed(bank)

    def _issue_column(self, req: Request, t: int) -> None:
        bank = req.bank
        self._count(req)
        write = req.write
        cmd = WR if write else RD
        if self.closed_policy and not self._has_hit(bank, req):
            cmd = WRA if write else RDA
        self.timing.issue(cmd, bank, t)
        stats = self.stats
        stats.commands[cmd] += 1
        if self.active_in_bank[bank] and req in self.active:
            self.active.remove(req)
            self.active_in_bank[bank] -= 1
            self.active_in_scope[req.scope] -= 1
        else:
            self._queue_of(req).remove(req)
            if write:
                self.write_keys.pop(req.key, None)
            self.sched.space_freed(self.index, write, t)
        if write:
            stats.writes += 1
            done = t + self.tables.write_latency
        else:
            stats.reads += 1
            done = t + self.tables.read_latency
            stats.read_latency.append(done - req.arrive)
        if done > stats.last_done:
            stats.last_done = done
        if cmd in (RDA, WRA):
            self._row_closed(bank, t)
        self.sched.request_done(self.index, t)

    def _has_hit(self, bank: int, served: Request) -> bool:
        """Closed-row policy: is another queued request waiting for this open row?"""
        row = self.open_row[bank]
        for queue in (self.reads, self.writes):
            for req in queue.by_bank[bank]:
                if req is not served and req.row == row:
                    return True
        return any(r is not served and r.bank == bank and r.row == row for r in self.active)

    def _try_refresh(self, t: int, rising: bool) -> bool:
        """Serve the head of the refresh queue: close the scope's banks, then REF."""
        scope = self.priority[0]
        per = self.tables.banks_per_scope
        banks = range(scope * per, scope * per + per)
        if any(self.open_row[b] >= 0 for b in banks):
            if self.active_in_scope[scope]:
                return False
            if self.timing.earliest_scope(PREA, scope) > t:
                return False
            if not rising and not self._falling_pre_ok(PREA, scope, -1, t):
                return False
            self.timing.issue(PREA, scope, t, scope=True)
            self.stats.commands[PREA] += 1
            for b in banks:
                if self.open_row[b] >= 0:
                    self._row_closed(b, t)
            cmd = PREA
        else:
            if not rising or self.timing.earliest_scope(REF, scope) > t:
                return False
            self.timing.issue(REF, scope, t, scope=True)
            self.stats.commands[REF] += 1
            self.priority.pop(0)
            cmd = REF
        if self.hbm3 and rising:
            self.pair = (cmd, scope, -1, t + 1)
        return True

    # -- when to wake next ------------------------------------------------
    def _next_wake(self, t: int) -> float:
        """The first tick after ``t`` at which some queued command could issue.

        Uses min_b max(U, L_b) = max(U, min_b L_b): per scope, the shared part
        U once and the smallest per-bank part L over the candidate banks.
        """
        soon = self.next_refresh
        earliest = self.timing.earliest
        edge = self._edge
        for req in self.active:
            soon = min(soon, edge(earliest(WR if req.write else RD, req.bank), t, True))
        if self.priority:
            return min(soon, self._refresh_wake(t))
        queue = self.writes if self.write_mode else self.reads
        if not queue.size:
            return soon
        col_cmd = WR if self.write_mode else RD
        ready = self.timing.ready
        low = self.tables.low
        col_low, act_low, pre_low = low[col_cmd], low[ACT], low[PRE]
        nsc = self.tables.nscopes
        col_min, act_min, pre_min = [INF] * nsc, [INF] * nsc, [INF] * nsc
        open_row, active_in_bank = self.open_row, self.active_in_bank
        for bank in queue.busy:
            reqs = queue.by_bank[bank]
            sc = reqs[0].scope
            orow = open_row[bank]
            if orow < 0:
                v = ready[act_low[bank]]
                if v < act_min[sc]:
                    act_min[sc] = v
                continue
            hits = queue.nhit[bank]
            if hits:
                v = ready[col_low[bank]]
                if v < col_min[sc]:
                    col_min[sc] = v
            if hits < len(reqs) and not active_in_bank[bank]:
                v = ready[pre_low[bank]]
                if v < pre_min[sc]:
                    pre_min[sc] = v
        for cmd, mins, rising_only in ((col_cmd, col_min, True), (ACT, act_min, True), (PRE, pre_min, False)):
            up = None
            for sc in range(nsc):
                if mins[sc] < INF:
                    if up is None:
                        up = self._scope_ready(cmd)
                    soon = min(soon, edge(max(up[sc], mins[sc]), t, rising_only))
        return soon

    def _refresh_wake(self, t: int) -> float:
        scope = self.priority[0]
        per = self.tables.banks_per_scope
        if any(self.open_row[b] >= 0 for b in range(scope * per, scope * per + per)):
            if self.active_in_scope[scope]:
                return INF          # the active requests' column commands wake us
            return self._edge(self.timing.earliest_scope(PREA, scope), t, False)
        return self._edge(self.timing.earliest_scope(REF, scope), t, True)

    def _edge(self, ready: float, t: int, rising_only: bool) -> float:
        """First tick >= ready and > t on which the command may issue."""
        tick = ready if ready > t else t + 1
        if self.hbm3 and rising_only and not tick & 1:
            tick += 1
        return tick
