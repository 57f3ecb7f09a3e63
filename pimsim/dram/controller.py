"""The command-level memory controller of one DRAM channel.

What it models (per channel): read and write queues shared by the channel's
pseudo-channels, FR-FCFS scheduling (the oldest request whose next command is
legal now goes first), open or closed row policy, all-bank refresh per
refresh scope (pseudo-channel / rank), write draining between watermarks,
read-after-write forwarding and write coalescing, and every timing constraint
of the device's family (:mod:`pimsim.dram.timing`).

How it runs: the controller is event-driven. It does not tick every cycle;
after each decision it computes the next controller tick at which any queued
command could become legal (or a refresh falls due; :mod:`pimsim.dram.wakeups`),
and the memory system
(:mod:`pimsim.dram.memory`) wakes it then, or earlier if a new request could
issue sooner.

Scheduling follows Ramulator 2.1's controllers so that the two agree cycle for
cycle: a request whose ACT has issued waits in an "active" list and its column
command is served first; refreshes wait in a priority queue that blocks
ordinary requests; a precharge never closes a row whose activating request has
not been served. With a dual command bus (HBM) one row and one column command
may issue per tick; HBM3 issues column commands, ACT and REF on rising clock
edges and PRE also on falling edges.
"""

from __future__ import annotations

from heapq import heappush

from pimsim.dram.family import CMD
from pimsim.dram.queues import Request, RequestQueue
from pimsim.dram.refresh import Refresh
from pimsim.dram.stats import ChannelStats
from pimsim.dram.timing import ChannelTiming, TimingTables, raise_window
from pimsim.dram.wakeups import WakeTimes

ACT, PRE, RD, WR, RDA, WRA = (CMD[c] for c in ("ACT", "PRE", "RD", "WR", "RDA", "WRA"))
INF = float("inf")
NO_SEQ = 1 << 62        # above every request number (an int: no int-float comparisons in the scans)


class ChannelController(WakeTimes, Refresh):
    """Schedules the requests of one channel onto its DRAM banks.

    Its ready list (``timing.ready``) is a working copy for its own checks: updates that cannot
    change its decisions are left out and those only refresh reads come late
    (:meth:`TimingTables.split_updates`), so other code should not read it as the timing state.
    """

    # Slots keep attribute access fast: CPython stops sharing instance-dict keys past 30 attributes.
    __slots__ = ("tables", "index", "system", "timing", "open_row", "opened_at", "active", "nactive", "nact", "active_ready",
                 "active_in_bank", "active_in_scope", "reads", "writes", "_exact_flags", "_plans", "_scope_plans", "_later",
                 "pending", "priority",
                 "write_mode", "hi_mark", "lo_mark", "write_keys", "closed_policy", "refi", "next_refresh", "dual",
                 "hbm3", "t_rp", "pair", "seq", "stats", "log", "done_log")

    def __init__(self, tables: TimingTables, ctrl_cfg, index: int, system, refresh: bool):
        spec = tables.spec
        self.tables = tables
        self.index = index
        self.system = system                      # receives space_freed / request_done notices
        self.timing = ChannelTiming(tables)
        nb = tables.nbanks
        self.open_row = [-1] * nb
        self.opened_at = [0] * nb
        #: activated requests as a heap of (lower bound on the tick their column command is legal,
        #: activation number, request); entries of served requests (``active`` false) stay until they
        #: reach the top. Ready times only rise, so a key is exact once recomputed at the top.
        self.active: list[tuple] = []
        self.nactive = 0                          # live entries in ``active``
        self.nact = 0                             # activations so far
        #: earliest tick at which some active request's column command is legal, as of the last
        #: next-wake computation (still exact at the next tick: only this controller's commands
        #: raise ready times or change the active heap)
        self.active_ready = INF
        self.active_in_bank = [0] * nb
        self.active_in_scope = [0] * tables.nscopes
        ready = self.timing.ready
        self.reads = RequestQueue(self.open_row, self.active_in_bank, ctrl_cfg.read_queue, tables, ready, RD, ACT, PRE)
        self.writes = RequestQueue(self.open_row, self.active_in_bank, ctrl_cfg.write_queue, tables, ready, WR, ACT,
                                   PRE)
        #: entry command -> the exactness flags (Candidates.exact) of the per-group minima over its entries
        self._exact_flags: dict[int, list] = {}
        for cands in self.reads.all_kinds + self.writes.all_kinds:
            self._exact_flags.setdefault(tables.entry[cands.cmd], []).append(cands.exact)
        #: [cmd][bank] (and [cmd][scope] for PREA/REF) -> (plain, windowed, stale, slot), filled on first
        #: use: the timing updates of issuing it, the (exactness flags, scope) pairs of the minima it may
        #: make inexact, and the index in ``_later`` of its deferred updates
        self._plans = [[None] * nb for _ in CMD]
        self._scope_plans = [[None] * tables.nscopes for _ in CMD]
        #: Updates of entries that only PREA and REF read are deferred: an issue records its tick in
        #: ``pending`` (slot -> latest tick), and they are applied before a refresh reads the ready list.
        #: Updates only raise entries to max(entry, t + lat), so applying them late, in any order and for
        #: the latest tick of each slot only, gives the same entries.
        self._later: list[tuple] = []
        self.pending: dict[int, int] = {}
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
        self.log: list | None = None              # (tick, command, bank or -1 - scope) when recording
        self.done_log: list | None = None         # (key, completion tick) when recording

    # -- arrivals -------------------------------------------------------
    def offer(self, write: bool, bank: int, row: int, key: int, t: int):
        """A request arrives before tick ``t``.

        Returns None if its queue is full, True if it was absorbed at once
        (forwarded from or coalesced with a queued write), else the queued Request.
        """
        stats = self.stats
        if key in self.write_keys:
            done = t - 1 if write else t
            if write:                                # coalesce with the queued write
                stats.coalesced += 1
                stats.writes += 1
            else:                                    # forward the queued write's data
                stats.forwarded += 1
                stats.reads += 1
                stats.read_latency.append(1)
            stats.last_done = max(stats.last_done, done)
            if self.done_log is not None:
                self.done_log.append((key, done))
            return True
        queue = self.writes if write else self.reads
        if queue.size >= queue.capacity:
            return None
        self.seq += 1
        tables = self.tables
        scope = tables.scope_of[bank]
        col = WR if write else RD
        shared, low = tables.check[col][bank]
        req = Request(self.seq, write, bank, row, key, t - 1, scope, shared, low)
        queue.add(req)
        if write:
            self.write_keys[key] = 1
        return req

    def idle(self) -> bool:
        return not (self.reads.size or self.writes.size or self.nactive or self.priority)

    # -- one controller tick ------------------------------------------------
    def tick(self, t: int) -> float:
        """Issue what may issue at tick ``t``; return the next tick worth waking for."""
        return self._tick_dual(t) if self.dual else self._tick_single(t)

    def _tick_dual(self, t: int) -> float:
        if t >= self.next_refresh:
            self._refresh_due(t)
        rising = not self.hbm3 or t & 1
        if rising:
            req = self._pick_active(t) if self.active_ready <= t else None
            # (without row hits queued, the mode check of self._queue() is left to the row pick below)
            if req is None and not self.priority and (self.reads.col.count or self.writes.col.count):
                queue = self._queue()
                if queue.col.count:
                    req = self._pick(t, queue, queue.col_kinds, False)
            if req is not None:
                self._issue_column(req, t)
        if self.priority:
            self._try_refresh(t, rising)
        else:
            queue = self._queue()
            if queue.size:
                req = self._pick(t, queue, queue.row_kinds, False) if rising else self._pick(t, queue, queue.pre_kinds,
                                                                                            True)
                if req is not None:
                    self._issue_row(req, t, rising)
        return self._next_wake(t)

    def _tick_single(self, t: int) -> float:
        if t >= self.next_refresh:
            self._refresh_due(t)
        req = self._pick_active(t) if self.active_ready <= t else None
        if req is not None:
            self._issue_column(req, t)
        elif self.priority:
            self._try_refresh(t, True)
        else:
            queue = self._queue()
            req = self._pick(t, queue, queue.all_kinds, False) if queue.size else None
            if req is not None:
                if self.open_row[req.bank] == req.row:
                    self._issue_column(req, t)
                else:
                    self._issue_row(req, t, True)
        return self._next_wake(t)

    # -- candidate selection ----------------------------------------------
    def _queue(self) -> RequestQueue:
        """The queue to serve now: switch between reads and writes at the watermarks, then pick."""
        if not self.write_mode:
            if self.writes.size > self.hi_mark or self.reads.size == 0:
                self.write_mode = True
        elif self.writes.size < self.lo_mark and self.reads.size != 0:
            self.write_mode = False
        return self.writes if self.write_mode else self.reads

    def _pick_active(self, t: int):
        """Oldest activated request whose column command is legal now."""
        best, best_age = None, None
        ready = self.timing.ready
        for key, order, req in self.active:
            if key <= t and req.active and ready[req.col_low] <= t and ready[req.col_shared] <= t:
                if best is None or (req.arrive, order) < best_age:
                    best, best_age = req, (req.arrive, order)
        return best

    def _pick(self, t: int, queue: RequestQueue, kinds: tuple, falling: bool):
        """Oldest request of ``queue`` whose next command (of the candidate sets ``kinds``) is legal now
        (``falling``: on an HBM3 falling edge, where only PRE may issue)."""
        ready, by_bank, open_row = self.timing.ready, queue.by_bank, queue.open_row
        best, best_seq = None, NO_SEQ
        for cands in kinds:
            if not cands.count:
                continue
            first, hit, low_min = cands.first, cands.hit, cands.low_min
            for g, shared, banks in cands.groups:
                if not banks or ready[shared] > t or low_min[g] > t:    # (a lower bound suffices)
                    continue
                for bank, off in banks.items():
                    if ready[off] > t:
                        continue
                    head = by_bank[bank][0]
                    if head.seq >= best_seq:
                        continue
                    if falling and self.pair[3] == t and not self._falling_pre_ok(PRE, self.tables.scope_of[bank],
                                                                                  bank, t):
                        continue
                    # the request served: the bank's oldest, or the oldest (not) hitting its row if the
                    # head does not (does)
                    req = head if first is None or (head.row == open_row[bank]) is hit else first(bank)
                    if req.seq < best_seq:
                        best, best_seq = req, req.seq
        return best

    def _falling_pre_ok(self, cmd: int, scope: int, bank: int, t: int) -> bool:
        """HBM3: may a PRE share the falling edge after a rising-edge row command?"""
        _, pscope, pbank, ptick = self.pair
        if t != ptick or pscope != scope:
            return True
        if pbank < 0:          # all-bank command on the rising edge
            return False
        return cmd == PRE and bank != pbank

    # -- issuing ------------------------------------------------------------
    def _plan(self, cmd: int, target: int, scope: bool) -> tuple:
        _, windowed, touched = self.tables.updates(cmd, target, scope)
        history = self.timing.history           # each window's list of issue times, resolved once
        windowed = tuple((history.setdefault(key, []), window, fol) for key, window, fol in windowed)
        stale = tuple((flags, sc) for entry, sc in touched for flags in self._exact_flags.get(entry, ()))
        plain, later = self.tables.split_updates(cmd, target, scope)
        self._later.append(later)
        plan = (self._scope_plans if scope else self._plans)[cmd][target] = (plain, windowed, stale,
                                                                             len(self._later) - 1)
        return plan

    def _issue(self, cmd: int, target: int, t: int, scope: bool = False) -> None:
        plain, windowed, stale, slot = ((self._scope_plans if scope else self._plans)[cmd][target]
                                        or self._plan(cmd, target, scope))
        self.pending[slot] = t
        ready = self.timing.ready
        for off, lat in plain:            # timing.raise_ready, inlined (one call less per command)
            v = t + lat
            if ready[off] < v:
                ready[off] = v
        for hist, window, follows in windowed:      # each window's issue times, resolved in the plan
            raise_window(ready, hist, window, t, follows)
        for flags, sc in stale:
            flags[sc] = False
        self.stats.commands[cmd] += 1
        if self.log is not None:
            self.log.append((t, cmd, -1 - target if scope else target))

    def _count(self, req: Request, orow: int) -> None:
        """Record whether ``req``'s first command finds its row open, closed or in conflict (open row ``orow``)."""
        req.counted = True
        if orow == req.row:
            self.stats.row_hits += 1
        elif orow >= 0:
            self.stats.row_conflicts += 1
        else:
            self.stats.row_misses += 1

    def _issue_row(self, req: Request, t: int, rising: bool) -> None:
        bank = req.bank
        orow = self.open_row[bank]
        if not req.counted:                     # (self._count(req, orow), inline)
            req.counted = True
            if orow >= 0:                       # (a row command: the row is not hit)
                self.stats.row_conflicts += 1
            else:
                self.stats.row_misses += 1
        reads, writes = self.reads, self.writes
        if orow < 0:
            self._issue(ACT, bank, t)
            write = req.write
            if write:
                writes.remove(req, classify=False)
                self.write_keys.pop(req.key, None)
            else:
                reads.remove(req, classify=False)
            self.open_row[bank] = req.row
            self.opened_at[bank] = t
            ready = self.timing.ready           # it waits in the active heap for its column command
            key, shared = ready[req.col_low], ready[req.col_shared]
            if shared > key:
                key = shared
            self.nact += 1
            heappush(self.active, (key, self.nact, req))
            req.active = True
            self.nactive += 1
            self.active_in_bank[bank] += 1
            self.active_in_scope[req.scope] += 1
            if reads.by_bank[bank] or reads.kinds[bank]:        # (nothing to redo for a bank without requests)
                reads.row_changed(bank)
            if writes.by_bank[bank] or writes.kinds[bank]:
                writes.row_changed(bank)
            self.system.space_freed(self.index, write, t)
            cmd = ACT
        else:
            self._issue(PRE, bank, t)
            self._row_closed(bank, t)
            cmd = PRE
        if self.hbm3 and rising:
            self.pair = (cmd, req.scope, bank, t + (3 if cmd == ACT else 1))

    def _row_closed(self, bank: int, t: int) -> None:
        self.stats.bank_busy[bank] += t - self.opened_at[bank] + self.t_rp
        self.open_row[bank] = -1
        reads, writes = self.reads, self.writes
        if reads.by_bank[bank] or reads.kinds[bank]:
            reads.row_changed(bank)
        if writes.by_bank[bank] or writes.kinds[bank]:
            writes.row_changed(bank)

    def _issue_column(self, req: Request, t: int) -> None:
        bank = req.bank
        if not req.counted:
            self._count(req, self.open_row[bank])
        write = req.write
        cmd = WR if write else RD
        if self.closed_policy and not self._row_wanted(bank, req):
            cmd = WRA if write else RDA
        self._issue(cmd, bank, t)
        stats = self.stats
        if req.active:                          # it leaves the active heap (its entry when at the top)
            req.active = False
            self.nactive -= 1
            self.active_in_bank[bank] -= 1
            self.active_in_scope[req.scope] -= 1
            reads, writes = self.reads, self.writes
            if reads.by_bank[bank] or reads.kinds[bank]:        # its bank may be open to a PRE now
                reads.classify(bank)
            if writes.by_bank[bank] or writes.kinds[bank]:
                writes.classify(bank)
        else:
            (self.writes if write else self.reads).remove(req)
            if write:
                self.write_keys.pop(req.key, None)
            self.system.space_freed(self.index, write, t)
        if write:
            stats.writes += 1
            done = t + self.tables.write_latency
        else:
            stats.reads += 1
            done = t + self.tables.read_latency
            stats.read_latency.append(done - req.arrive)
        if done > stats.last_done:
            stats.last_done = done
        if self.done_log is not None:
            self.done_log.append((req.key, done))
        if cmd == RDA or cmd == WRA:
            self._row_closed(bank, t)
        self.system.request_done(self.index, t)

    def _row_wanted(self, bank: int, served: Request) -> bool:
        """Closed-row policy: does another queued request still want this open row?"""
        row = self.open_row[bank]
        return (self.reads.has_hit(bank, row, served) or self.writes.has_hit(bank, row, served)
                or any(r.active and r is not served and r.bank == bank and r.row == row for _, _, r in self.active))
