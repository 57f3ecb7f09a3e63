"""Request queues of a channel controller, indexed for FR-FCFS.

A :class:`RequestQueue` (one for reads, one for writes) keeps its requests per
bank in arrival order and, per refresh scope, the sets of banks that have a
candidate for each kind of command:

* ``col``: the bank's open row is hit by a queued request (RD/WR next);
* ``act``: the bank is closed and has queued requests (ACT next);
* ``pre``: the bank is open, some queued request misses it and no activated
  request is still waiting for that row (PRE next).

Each set maps bank -> the offset of that bank's ready time for the command in
the channel's timing list, so the scheduler finds the earliest legal tick of a
whole set with one ``min(map(...))``.
"""

from __future__ import annotations


class Request:
    """One memory access as the controller sees it."""

    __slots__ = ("seq", "write", "bank", "row", "key", "arrive", "counted", "scope", "col_shared", "col_low")

    def __init__(self, seq, write, bank, row, key, arrive, scope, col_shared=-1, col_low=-1):
        self.seq = seq          # arrival order in this channel (FR-FCFS age)
        self.write = write
        self.bank = bank        # flat bank index within the channel
        self.row = row
        self.key = key          # unique per address, for forwarding/coalescing
        self.arrive = arrive    # tick
        self.counted = False    # row hit/miss/conflict recorded
        self.scope = scope      # refresh scope (pseudo-channel / rank) index
        self.col_shared = col_shared    # ready-list offsets of its RD/WR: the scope's entry
        self.col_low = col_low          # ... and the bank's entry


class RequestQueue:
    """A read or write queue with per-bank candidate sets (see module docstring)."""

    __slots__ = ("by_bank", "nhit", "size", "capacity", "open_row", "active_in_bank", "per_scope",
                 "col", "act", "pre", "col_off", "act_off", "pre_off")

    def __init__(self, open_row: list, active_in_bank: list, capacity: int, nscopes: int,
                 col_off: list, act_off: list, pre_off: list):
        nbanks = len(open_row)
        self.open_row = open_row            # shared with the controller
        self.active_in_bank = active_in_bank
        self.by_bank = [[] for _ in range(nbanks)]
        self.nhit = [0] * nbanks
        self.size = 0
        self.capacity = capacity
        self.per_scope = nbanks // nscopes
        self.col = [{} for _ in range(nscopes)]
        self.act = [{} for _ in range(nscopes)]
        self.pre = [{} for _ in range(nscopes)]
        self.col_off, self.act_off, self.pre_off = col_off, act_off, pre_off

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
            self.classify(bank)
            return
        row = self.open_row[bank]
        self.nhit[bank] = sum(1 for r in reqs if r.row == row) if row >= 0 else 0
        self.classify(bank)

    def classify(self, bank: int) -> None:
        """Put ``bank`` in the candidate sets its state calls for."""
        sc = bank // self.per_scope
        reqs = self.by_bank[bank]
        if not reqs:
            for sets in (self.col, self.act, self.pre):
                if bank in sets[sc]:
                    del sets[sc][bank]
            return
        want_col = want_act = want_pre = False
        if reqs:
            if self.open_row[bank] < 0:
                want_act = True
            else:
                hits = self.nhit[bank]
                want_col = hits > 0
                want_pre = hits < len(reqs) and not self.active_in_bank[bank]
        for sets, offsets, want in ((self.col, self.col_off, want_col), (self.act, self.act_off, want_act),
                                    (self.pre, self.pre_off, want_pre)):
            members = sets[sc]
            if want:
                members[bank] = offsets[bank]
            elif bank in members:
                del members[bank]

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
