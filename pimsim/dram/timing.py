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
    """Constraint tables of one DRAM spec, compiled for fast issue/check.

    The ready list of a channel has one entry per (group, command), then one
    entry per (bank, command). A command's groups are the nodes of one level
    (``group_level``): the refresh scope, or a deeper level where a sibling rule
    below the scope constrains the command (HBM3: RD after RD on another stack
    ID), so that such a rule raises one entry per sibling node rather than one
    per bank under it. A constraint at or above that level is pushed down to
    the entries of every group under its node, and a constraint below it to
    the entries of every bank under its node, when a command issues; so
    checking a command to a bank is the larger of two entries: its group's
    (``shared``) and its own (``low``). Commands that every rule constrains
    alike (RD and RDA, as a rule) always have equal ready times, so they share
    one entry (``entry``).
    """

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
        self.scope_of = [b // self.banks_per_scope for b in range(self.nbanks)]     # bank -> refresh scope
        self.cmd_ticks = [max(1, round(fam.command_cycles.get(c, 1) * self.tpc)) for c in COMMANDS]
        self.rules = self._compile_rules(spec)
        #: entry[c]: the command whose ready entries ``c`` uses (itself, or an identically constrained one)
        self.entry = self._entry_commands()
        #: group_level[c]: the level whose nodes hold command c's shared entries; banks_per_group[c]
        self.group_level = self._group_levels()
        self.banks_per_group = [self.nbanks // self.counts[g] for g in self.group_level]
        #: shared[c][g]: offset of group g's entry for command c (rules at and above the group level)
        self.shared = self._shared_offsets()
        self.bank_base = sum(len(self.shared[c]) for c in range(NCMD) if self.entry[c] == c)
        self.size = self.bank_base + self.nbanks * NCMD
        self._updates: dict = {}
        self._split: dict = {}
        self._scope_only: list | None = None
        self.read_latency = spec.ticks(fam.read_latency)
        self.write_latency = spec.ticks(fam.write_latency)
        self.bank_path = [self._path(b) for b in range(self.nbanks)]
        #: low[c][b]: offset of bank b's own entry for command c (rules below the group level)
        self.low = [[self.bank_base + b * NCMD + self.entry[c] for b in range(self.nbanks)] for c in range(NCMD)]
        self.check = [[(self.shared[c][b // self.banks_per_group[c]], self.low[c][b]) for b in range(self.nbanks)]
                      for c in range(NCMD)]
        self.scope_check = [[tuple(self.shared[c][g] for g in self._scope_groups(c, s))
                             + tuple(self.low[c][b] for b in self._scope_banks(s))
                             for s in range(self.nscopes)] for c in range(NCMD)]

    # -- hierarchy ---------------------------------------------------------
    def node(self, level: int, flat: int) -> int:
        return self.base[level] + flat

    def _path(self, bank: int) -> list[int]:
        """Node indices from the channel down to ``bank``."""
        depth = len(self.counts) - 1
        return [self.node(j, bank // (self.counts[depth] // self.counts[j])) for j in range(depth + 1)]

    def _scope_banks(self, scope: int) -> range:
        return range(scope * self.banks_per_scope, (scope + 1) * self.banks_per_scope)

    def _scope_groups(self, cmd: int, scope: int) -> range:
        per = self.counts[self.group_level[cmd]] // self.nscopes
        return range(scope * per, (scope + 1) * per)

    def _level_nodes(self, level: int, ancestor_level: int, ancestor_flat: int) -> list[int]:
        per = self.counts[level] // self.counts[ancestor_level]
        return [self.node(level, ancestor_flat * per + k) for k in range(per)]

    def _entries(self, level: int, node: int, cmd: int) -> list[int]:
        """Ready-list offsets that represent ``cmd`` at ``node``: its scopes, or its banks."""
        flat = node - self.base[level]
        cmd = self.entry[cmd]
        group_level = self.group_level[cmd]
        if level <= group_level:
            per = self.counts[group_level] // self.counts[level]
            return self.shared[cmd][flat * per: (flat + 1) * per]
        per = self.nbanks // self.counts[level]
        return [self.bank_base + b * NCMD + cmd for b in range(flat * per, (flat + 1) * per)]

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

    def _entry_commands(self) -> list[int]:
        """Map each command to the first command constrained by exactly the same rules.

        A ready entry only ever rises through the rules that name its command as
        the follower; two commands with the same such rules (level, preceding
        command, latency, window, sibling) have equal entries at every tick.
        """
        signature = [[] for _ in range(NCMD)]
        for level, per_cmd in enumerate(self.rules):
            for pre, followers in enumerate(per_cmd):
                for f, lat, window, sibling in followers:
                    signature[f].append((level, pre, lat, window, sibling))
        first: dict = {}
        return [first.setdefault(tuple(sorted(sig)), c) for c, sig in enumerate(signature)]

    def _group_levels(self) -> list[int]:
        """The refresh scope's level, or for a command (other than PREA/REF, checked per scope) that a
        sibling rule below the scope and above the banks constrains, the deepest such rule's level."""
        levels = [self.scope_level] * NCMD
        for j in range(self.scope_level + 1, len(self.counts) - 1):
            for followers in self.rules[j]:
                for f, _, _, sibling in followers:
                    if sibling and f not in SCOPE_COMMANDS:
                        levels[f] = j
        return [levels[self.entry[c]] for c in range(NCMD)]

    def _shared_offsets(self) -> list[list[int]]:
        """shared[c][g] for every command (one run of offsets per entry command, from 0)."""
        shared, start = [], 0
        for c in range(NCMD):
            if self.entry[c] == c:
                n = self.counts[self.group_level[c]]
                shared.append(list(range(start, start + n)))
                start += n
            else:
                shared.append(shared[self.entry[c]])
        return shared

    def updates(self, cmd: int, target: int, scope: bool = False):
        """(plain, windowed, touched) updates for issuing ``cmd`` to bank (or scope node) ``target``.

        plain: tuple of (offset, latency); windowed: tuple of
        (history key, window, ((offset, latency), ...)); touched: the (entry command,
        group) pairs whose bank entries may rise (for caches of per-bank minima).
        """
        key = (cmd, target, scope)
        found = self._updates.get(key)
        if found is None:
            plain, windowed = self._build_updates(cmd, target, scope)
            offsets = [off for off, _ in plain] + [off for _, _, fol in windowed for off, _ in fol]
            bank_entries = {divmod(off - self.bank_base, NCMD) for off in offsets if off >= self.bank_base}
            touched = tuple(sorted({(c, b // self.banks_per_group[c]) for b, c in bank_entries}))
            found = self._updates[key] = (plain, windowed, touched)
        return found

    def split_updates(self, cmd: int, target: int, scope: bool = False) -> tuple:
        """The plain updates of :meth:`updates` for the channel controller, as (others, scope_only):
        those of entries that only the scope commands PREA and REF read (which the controller may
        apply late), and the rest.

        Both leave out updates that can never decide under the controller's issue discipline: at
        most one command per command bus and tick, and on HBM3 column commands, ACT and REF on
        rising edges (odd ticks) only. So a follower on the same bus cannot issue before the next
        tick (the next rising edge, two ticks on, if both commands are rising-edge only), and an
        update no later than that changes no decision (nor any wake-up tick, which are rounded
        up the same way).
        """
        key = (cmd, target, scope)
        found = self._split.get(key)
        if found is None:
            if self._scope_only is None:
                self._scope_only = [all(c in SCOPE_COMMANDS for c in range(NCMD) if self.entry[c] == e)
                                    for e in range(NCMD)]
            plain = self.updates(cmd, target, scope)[0]
            kept = tuple(u for u in plain if u[1] > self._gap(cmd, self._entry_at(u[0])))
            later = tuple(u for u in kept if self._scope_only[self._entry_at(u[0])])
            found = self._split[key] = (tuple(u for u in kept if u not in later), later)
        return found

    def _gap(self, cmd: int, entry: int) -> int:
        """Ticks after issuing ``cmd`` before any command using ``entry`` could issue anyway."""
        fam = self.spec.family
        gaps = []
        for c in range(NCMD):
            if self.entry[c] != entry:
                continue
            same_bus = fam.command_bus != "dual" or ((COMMANDS[c] in COLUMN_COMMANDS)
                                                    == (COMMANDS[cmd] in COLUMN_COMMANDS))
            rising = fam.clock_edges == "hbm3" and all(COMMANDS[x] not in ("PRE", "PREA") for x in (c, cmd))
            gaps.append(0 if not same_bus else 2 if rising else 1)
        return min(gaps)

    def _entry_at(self, off: int) -> int:
        """The entry command of ready-list offset ``off``."""
        if off >= self.bank_base:
            return (off - self.bank_base) % NCMD
        return next(c for c in range(NCMD) if self.entry[c] == c and off in self.shared[c])

    def _build_updates(self, cmd, target, scope):
        if scope:
            path = self._path(target * self.banks_per_scope)[: self.scope_level + 1]
            below = [(j, n) for j in range(self.scope_level + 1, len(self.counts))
                     for n in self._level_nodes(j, self.scope_level, target)]
        else:
            path, below = self._path(target), []
        plain, windowed = [], {}
        for j, n in list(enumerate(path)) + below:
            for f, lat, window, sibling in self.rules[j][cmd]:
                if sibling:
                    continue
                offs = [(e, lat) for e in self._entries(j, n, f)]
                if window == 1:
                    plain.extend(offs)
                else:
                    windowed.setdefault((n * NCMD + cmd, window), []).extend(offs)
        for j in range(1, len(path)):
            sib_rules = [(f, lat) for f, lat, _, sibling in self.rules[j][cmd] if sibling]
            if not sib_rules:
                continue
            parent_flat = path[j - 1] - self.base[j - 1]
            for s in self._level_nodes(j, j - 1, parent_flat):
                if s != path[j]:
                    plain.extend((e, lat) for f, lat in sib_rules for e in self._entries(j, s, f))
        return self._merge(plain), tuple((key, window, tuple(fol)) for (key, window), fol in windowed.items())

    def _merge(self, plain):
        """Fewer updates at issue time: keep only the largest latency per offset, and drop a bank
        entry's update when the same command's entry of the bank's group rises at least as far.

        A command to a bank is checked against the larger of the two entries, and ready times
        only rise, so such a bank update could never decide a check.
        """
        best: dict[int, int] = {}
        for off, lat in plain:
            if off not in best or lat > best[off]:
                best[off] = lat
        kept = []
        for off, lat in best.items():
            if off >= self.bank_base:
                bank, cmd = divmod(off - self.bank_base, NCMD)
                if best.get(self.shared[cmd][bank // self.banks_per_group[cmd]], -math.inf) >= lat:
                    continue
            kept.append((off, lat))
        return tuple(kept)


def raise_ready(ready: list, history: dict, t: int, plain, windowed) -> None:
    """Apply a command issued at tick ``t``: ``ready[off] >= t + lat`` for each ``(off, lat)``
    of ``plain``; for each rolling window ``(key, window, follows)`` the issue times are kept
    newest first in ``history[key]`` and, once ``window`` of them are known, the followers wait
    ``lat`` after the oldest (tFAW-style rules)."""
    for off, lat in plain:
        v = t + lat
        if ready[off] < v:
            ready[off] = v
    if windowed:
        raise_windowed(ready, history, t, windowed)


def raise_windowed(ready: list, history: dict, t: int, windowed) -> None:
    """The rolling-window part of :func:`raise_ready`."""
    for key, window, follows in windowed:
        raise_window(ready, history.setdefault(key, []), window, t, follows)


def raise_window(ready: list, hist: list, window: int, t: int, follows) -> None:
    """One rolling window: record issue tick ``t`` in ``hist`` (newest first, at most ``window``
    kept); once ``window`` are known, each follower ``(off, lat)`` waits ``lat`` after the oldest."""
    if len(hist) == window:
        hist.pop()
    hist.insert(0, t)
    if len(hist) == window:
        oldest = hist[-1]
        for off, lat in follows:
            v = oldest + lat
            if ready[off] < v:
                ready[off] = v


class ChannelTiming:
    """The ready times of one channel (see :class:`TimingTables` for the layout), in ticks."""

    __slots__ = ("tables", "ready", "history")

    def __init__(self, tables: TimingTables):
        self.tables = tables
        self.ready = [-math.inf] * tables.size
        self.history: dict[int, list[int]] = {}

    def earliest(self, cmd: int, bank: int) -> int:
        """Earliest tick at which ``cmd`` to ``bank`` satisfies every constraint."""
        shared, low = self.tables.check[cmd][bank]
        shared, low = self.ready[shared], self.ready[low]
        return shared if shared > low else low

    def earliest_scope(self, cmd: int, scope: int) -> int:
        return max(map(self.ready.__getitem__, self.tables.scope_check[cmd][scope]))

    def issue(self, cmd: int, target: int, t: int, scope: bool = False) -> tuple:
        """Record ``cmd`` issued at tick ``t``: raise the ready time of every follower.

        Returns the (entry command, scope) pairs whose bank entries may have risen.
        """
        plain, windowed, touched = self.tables.updates(cmd, target, scope)
        raise_ready(self.ready, self.history, t, plain, windowed)
        return touched
