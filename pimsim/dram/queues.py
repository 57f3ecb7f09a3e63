"""Request queues of a channel controller, indexed for FR-FCFS.

A :class:`RequestQueue` (one for reads, one for writes) keeps its requests per
bank in arrival order and the sets of banks that have a
candidate for each kind of command:

* ``col``: the bank's open row is hit by a queued request (RD/WR next);
* ``act``: the bank is closed and has queued requests (ACT next);
* ``pre``: the bank is open, some queued request misses it and no activated
  request is still waiting for that row (PRE next).

Each kind is a :class:`Candidates`: per group of banks (the refresh scope, or
the command's deeper ``group_level``, see :mod:`pimsim.dram.timing`), a dict
mapping bank -> the offset of that bank's ready time for the command in the
channel's timing list,
and a cached lower bound on the smallest of those ready times. Ready times
only rise and a member leaving can only raise the minimum, so the bound stays
valid; it is exact until a command raises some member's entry or a member
leaves. The earliest legal tick of a whole set is max(the group's shared
entry, the minimum): the scheduler skips a set whose bound is in the future
and recomputes the minimum only when the set could decide the next wake-up.
"""

from __future__ import annotations

from pimsim.dram.family import CMD

INF = float("inf")


class Request:
    """One memory access as the controller sees it."""

    __slots__ = ("seq", "write", "bank", "row", "key", "arrive", "counted", "scope", "col_shared", "col_low",
                 "active")

    def __init__(self, seq, write, bank, row, key, arrive, scope, col_shared=-1, col_low=-1):
        self.seq = seq          # arrival order in this channel (FR-FCFS age)
        self.write = write
        self.bank = bank        # flat bank index within the channel
        self.row = row
        self.key = key          # unique per address, for forwarding/coalescing
        self.arrive = arrive    # tick
        self.counted = False    # row hit/miss/conflict recorded
        self.scope = scope      # refresh scope (pseudo-channel / rank) index
        self.col_shared = col_shared    # ready-list offsets of its RD/WR: its group's entry
        self.col_low = col_low          # ... and the bank's entry
        self.active = False     # its ACT issued, its column command not yet


#: Bits of ``RequestQueue.kinds``: the candidate sets a bank is in.
IN_COL, IN_ACT, IN_PRE = 1, 2, 4
IN_COL_PRE = IN_COL | IN_PRE


class Candidates:
    """The banks of one queue whose next command is ``cmd``, per group (of ``per_group`` banks).

    ``members[g]``: dict bank -> ready-list offset of (cmd, bank) for the banks of group g
    (``count`` of them in all); ``low_min[g]``: a lower bound on the smallest ready time
    among ``members[g]``, exact while ``exact[g]``; ``shared[g]``: offset of the group's own
    entry for ``cmd``; ``groups``: the (g, shared[g], members[g]) triples, for the scans;
    ``first``: bank -> the request the command serves (None: the bank's oldest request): the
    oldest one hitting the bank's open row if ``hit`` is True, missing it if False;
    ``rising_only``: HBM3, where ``cmd`` may issue on rising clock edges (odd ticks) only.
    :meth:`RequestQueue.classify` adds and removes the members: a joining bank lowers
    ``low_min[g]`` to its ready time if below it, a leaving one makes ``low_min[g]`` inexact.
    """

    __slots__ = ("cmd", "members", "count", "low_min", "exact", "shared", "per_group", "offsets", "ready",
                 "first", "hit", "groups", "rising_only", "group_of")

    def __init__(self, cmd: int, tables, ready: list, first=None, hit=None):
        self.cmd = cmd
        self.shared = tables.shared[cmd]
        self.per_group = tables.banks_per_group[cmd]
        ngroups = len(self.shared)
        self.members = [{} for _ in range(ngroups)]
        self.count = 0
        self.low_min = [INF] * ngroups
        self.exact = [True] * ngroups
        self.offsets = tables.low[cmd]
        self.ready = ready
        self.first = first
        self.hit = hit
        self.groups = tuple((g, self.shared[g], self.members[g]) for g in range(ngroups))
        self.group_of = [bank // self.per_group for bank in range(tables.nbanks)]    # bank -> its group
        self.rising_only = tables.spec.family.clock_edges == "hbm3" and cmd != CMD["PRE"]


class RequestQueue:
    """A read or write queue with per-bank candidate sets (see module docstring)."""

    __slots__ = ("by_bank", "nhit", "size", "capacity", "open_row", "active_in_bank",
                 "col", "act", "pre", "kinds", "all_kinds", "col_kinds", "row_kinds", "pre_kinds", "moves")

    def __init__(self, open_row: list, active_in_bank: list, capacity: int, tables, ready: list, col_cmd: int,
                 act_cmd: int, pre_cmd: int):
        nbanks = len(open_row)
        self.open_row = open_row            # shared with the controller
        self.active_in_bank = active_in_bank
        self.by_bank = [[] for _ in range(nbanks)]
        self.nhit = [0] * nbanks
        self.size = 0
        self.capacity = capacity
        self.col = Candidates(col_cmd, tables, ready, self.first_hit, True)
        self.act = Candidates(act_cmd, tables, ready)
        self.pre = Candidates(pre_cmd, tables, ready, self.first_miss, False)
        self.all_kinds = (self.col, self.act, self.pre)
        self.col_kinds, self.row_kinds, self.pre_kinds = (self.col,), (self.act, self.pre), (self.pre,)
        by_bit = ((IN_COL, self.col), (IN_ACT, self.act), (IN_PRE, self.pre))
        #: moves[old][new]: (the sets to leave, the sets to join) when a bank's kinds change from old to new
        self.moves = [[(tuple(c for bit, c in by_bit if old & bit and not new & bit),
                        tuple(c for bit, c in by_bit if new & bit and not old & bit))
                       for new in range(8)] for old in range(8)]
        self.kinds = [0] * nbanks           # per bank: IN_COL | IN_ACT | IN_PRE bits of the sets it is in

    def add(self, req: Request) -> None:
        bank = req.bank
        self.by_bank[bank].append(req)
        self.size += 1
        if self.open_row[bank] == req.row:
            self.nhit[bank] += 1
        self.classify(bank)

    def remove(self, req: Request, classify: bool = True) -> None:
        bank = req.bank
        self.by_bank[bank].remove(req)
        self.size -= 1
        if self.open_row[bank] == req.row:
            self.nhit[bank] -= 1
        if classify:
            self.classify(bank)

    def row_changed(self, bank: int) -> None:
        """Recount hits after the bank's open row changed (ACT) or closed; then reclassify."""
        reqs = self.by_bank[bank]
        if not reqs:
            self.nhit[bank] = 0
            if self.kinds[bank]:
                self.classify(bank)
            return
        row = self.open_row[bank]
        hits = 0
        if row >= 0:
            for r in reqs:
                if r.row == row:
                    hits += 1
        self.nhit[bank] = hits
        self.classify(bank)

    def classify(self, bank: int) -> None:
        """Put ``bank`` in the candidate sets its state calls for."""
        reqs = self.by_bank[bank]
        if not reqs:
            kinds = 0
        elif self.open_row[bank] < 0:
            kinds = IN_ACT
        else:
            hits = self.nhit[bank]
            if hits < len(reqs) and not self.active_in_bank[bank]:
                kinds = IN_COL_PRE if hits else IN_PRE
            else:
                kinds = IN_COL if hits else 0
        old = self.kinds[bank]
        if kinds == old:
            return
        self.kinds[bank] = kinds
        leave, join = self.moves[old][kinds]
        if leave:
            for cands in leave:                 # the bank leaves: the group's minimum may rise
                group = cands.group_of[bank]
                del cands.members[group][bank]
                cands.count -= 1
                cands.exact[group] = False
        if join:
            for cands in join:                  # the bank joins: the group's minimum may fall
                group = cands.group_of[bank]
                members = cands.members[group]
                off = members[bank] = cands.offsets[bank]
                cands.count += 1
                value = cands.ready[off]
                if len(members) == 1:
                    cands.low_min[group] = value
                    cands.exact[group] = True
                elif value < cands.low_min[group]:
                    cands.low_min[group] = value

    def first_hit(self, bank: int) -> Request:
        row = self.open_row[bank]
        for req in self.by_bank[bank]:
            if req.row == row:
                return req
        raise AssertionError("bank in the hit set without a hit")

    def first_miss(self, bank: int) -> Request:
        row = self.open_row[bank]
        for req in self.by_bank[bank]:
            if req.row != row:
                return req
        raise AssertionError("bank in the precharge set without a miss")

    def has_hit(self, bank: int, row: int, but: Request) -> bool:
        return any(r is not but and r.row == row for r in self.by_bank[bank])
