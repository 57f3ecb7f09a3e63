"""Timing state of one channel: when may each command next issue at each node?

The family's rules are compiled once per device (:class:`TimingTables`) into
flat lists: issuing command ``c`` to bank ``b`` at tick ``t`` raises the
"earliest tick" of every constrained follower on every node of the hierarchy
above ``b`` (and, for sibling rules, beside it). Checking a command is then the
maximum of a handful of integers. All times are controller ticks.

JEDEC latencies run from the *end* of one command to the *end* of the next;
commands that occupy the command bus for several ticks (HBM2 ACT: 2 tCK,
HBM3 ACT: 1.5 tCK) therefore shift the bound, as Ramulator 2.1 does.
"""

from __future__ import annotations

import math

from pimsim.dram.family import CMD, COLUMN_COMMANDS, COMMANDS, ROW_COMMANDS, evaluate

NCMD = len(COMMANDS)
SCOPE_COMMANDS = (CMD["PREA"], CMD["REF"])


class TimingTables:
    """Constraint tables of one DRAM spec, compiled for fast issue/check."""

    def __init__(self, spec):
        fam = spec.family
        self.spec = spec
        self.tpc = spec.ticks_per_clock
        sizes = spec.level_sizes()
        self.levels = list(fam.levels)
        self.counts = [1]
        for size in sizes:
            self.counts.append(self.counts[-1] * size)
        self.base = [sum(self.counts[:j]) for j in range(len(self.counts))]
        self.nnodes = sum(self.counts)
        self.nbanks = self.counts[-1]
        self.scope_level = self.levels.index(fam.refresh_scope)
        self.nscopes = self.counts[self.scope_level]
        self.banks_per_scope = self.nbanks // self.nscopes
        self.cmd_ticks = [max(1, round(fam.command_cycles.get(c, 1) * self.tpc)) for c in COMMANDS]
        self.rules = self._compile_rules(spec)
        self._updates: dict = {}
        self.read_latency = spec.ticks(fam.read_latency)
        self.write_latency = spec.ticks(fam.write_latency)
        self.bank_path = [self._path(b) for b in range(self.nbanks)]
        # check offsets per command per bank: positions in the flat ready list
        self.check = [[tuple(n * NCMD + c for n in self.bank_path[b]) for b in range(self.nbanks)]
                      for c in range(NCMD)]
        self.scope_check = [[self._scope_check(s, c) for s in range(self.nscopes)] for c in range(NCMD)]
        # the same checks split at the refresh scope: shared part (channel .. scope) and per-bank part
        cut = self.scope_level + 1
        self.upper = [[tuple(n * NCMD + c for n in self.bank_path[s * self.banks_per_scope][:cut])
                       for s in range(self.nscopes)] for c in range(NCMD)]
        self.lower = [[tuple(n * NCMD + c for n in self.bank_path[b][cut:]) for b in range(self.nbanks)]
                      for c in range(NCMD)]

    # -- hierarchy ---------------------------------------------------------
    def node(self, level: int, flat: int) -> int:
        return self.base[level] + flat

    def _path(self, bank: int) -> list[int]:
        """Node indices from the channel down to ``bank``."""
        depth = len(self.counts) - 1
        return [self.node(j, bank // (self.counts[depth] // self.counts[j])) for j in range(depth + 1)]

    def _descendants(self, level: int, flat: int) -> list[int]:
        nodes = []
        for j in range(level + 1, len(self.counts)):
            per = self.counts[j] // self.counts[level]
            nodes.extend(self.node(j, flat * per + k) for k in range(per))
        return nodes

    def _scope_check(self, scope: int, cmd: int) -> tuple[int, ...]:
        depth = len(self.counts) - 1
        first_bank = scope * self.banks_per_scope
        upper = self._path(first_bank)[: self.scope_level + 1]
        del depth
        return tuple(n * NCMD + cmd for n in upper + self._descendants(self.scope_level, scope))

    # -- rules -------------------------------------------------------------
    def _compile_rules(self, spec):
        """rules[level][preceding] -> list of (following, latency_ticks, window, sibling)."""
        fam = spec.family
        rules = [[[] for _ in range(NCMD)] for _ in self.levels]
        for rule in fam.rules:
            level = self.levels.index(rule.level)
            nominal = evaluate(rule.latency, spec.cycles, spec.name) * self.tpc
            for p in rule.preceding:
                for f in rule.following:
                    lat = nominal + (self.cmd_ticks[CMD[p]] - 1) - (self.cmd_ticks[CMD[f]] - 1)
                    rules[level][CMD[p]].append((CMD[f], lat, rule.window, rule.sibling))
        buses = [ROW_COMMANDS, COLUMN_COMMANDS] if fam.command_bus == "dual" else [COMMANDS]
        for bus in buses:
            for p in bus:
                ticks = self.cmd_ticks[CMD[p]]
                if ticks > 1:
                    rules[0][CMD[p]].extend((CMD[f], ticks, 1, False) for f in bus)
        return rules

    def updates(self, cmd: int, target: int, scope: bool = False):
        """(plain, windowed) updates for issuing ``cmd`` to bank (or scope node) ``target``.

        plain: list of (flat offset, latency); windowed: list of
        (history key, window, [(flat offset, latency)]).
        """
        key = (cmd, target, scope)
        found = self._updates.get(key)
        if found is None:
            found = self._updates[key] = self._build_updates(cmd, target, scope)
        return found

    def _build_updates(self, cmd, target, scope):
        if scope:
            path = self._path(target * self.banks_per_scope)[: self.scope_level + 1]
            below = [(j, n) for j in range(self.scope_level + 1, len(self.counts))
                     for n in self._level_nodes(j, self.scope_level, target)]
        else:
            path, below = self._path(target), []
        plain, windowed = [], {}
        targets = [(j, n) for j, n in enumerate(path)] + below
        for j, n in targets:
            for f, lat, window, sibling in self.rules[j][cmd]:
                if sibling:
                    continue
                if window == 1:
                    plain.append((n * NCMD + f, lat))
                else:
                    windowed.setdefault((n * NCMD + cmd, window), []).append((n * NCMD + f, lat))
        for j in range(1, len(path)):
            sib_rules = [(f, lat) for f, lat, _, sibling in self.rules[j][cmd] if sibling]
            if not sib_rules:
                continue
            parent_flat = path[j - 1] - self.base[j - 1]
            for s in self._level_nodes(j, j - 1, parent_flat):
                if s != path[j]:
                    plain.extend((s * NCMD + f, lat) for f, lat in sib_rules)
        return _merge(plain), tuple((key, window, tuple(fol)) for (key, window), fol in windowed.items())

    def _level_nodes(self, level: int, ancestor_level: int, ancestor_flat: int) -> list[int]:
        per = self.counts[level] // self.counts[ancestor_level]
        return [self.node(level, ancestor_flat * per + k) for k in range(per)]


def _merge(plain):
    """Keep only the largest latency per offset: fewer updates at issue time."""
    best: dict[int, int] = {}
    for off, lat in plain:
        if off not in best or lat > best[off]:
            best[off] = lat
    return tuple(best.items())


class ChannelTiming:
    """The ready times of one channel: ``ready[node * NCMD + cmd]`` in ticks."""

    __slots__ = ("tables", "ready", "history")

    def __init__(self, tables: TimingTables):
        self.tables = tables
        self.ready = [-math.inf] * (tables.nnodes * NCMD)
        self.history: dict[int, list[int]] = {}

    def earliest(self, cmd: int, bank: int) -> int:
        """Earliest tick at which ``cmd`` to ``bank`` satisfies every constraint."""
        return max(map(self.ready.__getitem__, self.tables.check[cmd][bank]))

    def earliest_scope(self, cmd: int, scope: int) -> int:
        return max(map(self.ready.__getitem__, self.tables.scope_check[cmd][scope]))

    def issue(self, cmd: int, target: int, t: int, scope: bool = False) -> None:
        """Record ``cmd`` issued at tick ``t``: raise the ready time of every follower."""
        ready = self.ready
        plain, windowed = self.tables.updates(cmd, target, scope)
        for off, lat in plain:
            v = t + lat
            if ready[off] < v:
                ready[off] = v
        for key, window, follows in windowed:
            hist = self.history.setdefault(key, [])
            hist.insert(0, t)
            del hist[window:]
            if len(hist) == window:
                for off, lat in follows:
                    v = hist[-1] + lat
                    if ready[off] < v:
                        ready[off] = v
