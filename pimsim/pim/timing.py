"""Compiled timing of a PIM channel: family rules plus PIM rules, over bank *sets*.

A PIM command acts on a set of banks at once (all 16 banks of an AiM channel,
the same bank in every bank group, one bank...). A command's *target* is a key
with one entry per hierarchy level below the channel: an index, or ``None``
where the command spans that level (``(None, None)`` = every bank of a GDDR6
channel; ``None`` instead of a tuple = no bank at all, e.g. a global-buffer
write). A rule ``[level, from, to, latency]`` binds every node of ``level``
that is an ancestor of a bank the commands touch; a command is legal when every
such node allows it. For single-bank commands this is exactly the family's
own semantics (:mod:`pimsim.dram.timing`).

:class:`PimTables` compiles the rules once per (DRAM spec, architecture);
:class:`ChannelState` holds one channel's ready times and open rows.
All times are controller ticks.
"""

from __future__ import annotations

import math

from pimsim.dram.family import COMMANDS, evaluate
from pimsim.dram.timing import raise_ready

INF = math.inf
FAMILY_ROLES = {"ACT": "open", "PRE": "close", "PREA": "close", "RD": "compute", "WR": "compute",
                "RDA": "compute", "WRA": "compute", "REF": "refresh"}
#: counters kept per channel: bank activations, array bytes read / written, I/O bytes, multiply-adds, REFs
COUNTERS = ("acts", "read_B", "write_B", "io_B", "macs", "refs")


class PimTables:
    """The rules of one PIM device compiled for fast checks and updates (shared by its channels)."""

    def __init__(self, spec, arch, cycles: dict | None = None, lanes: int = 16):
        fam = spec.family
        self.spec, self.arch, self.lanes = spec, arch, lanes
        self.cycles = dict(cycles if cycles is not None else spec.cycles)
        self.names = list(COMMANDS) + [c for c in arch.commands if c not in COMMANDS]
        self.cmd = {n: i for i, n in enumerate(self.names)}
        self.nc = len(self.names)
        self.levels = list(fam.levels)
        sizes = spec.level_sizes()
        self.sizes = sizes
        self.counts = [1]
        for s in sizes:
            self.counts.append(self.counts[-1] * s)
        self.base = [sum(self.counts[:j]) for j in range(len(self.counts))]
        self.nbanks = self.counts[-1]
        self.tpc = spec.ticks_per_clock
        self.scope_level = self.levels.index(fam.refresh_scope)
        self.cmd_ticks = [self._cmd_ticks(n) for n in self.names]
        self.rules = self._compile(spec)
        self.latency = [self._latency(n) for n in self.names]
        self.role = [FAMILY_ROLES.get(n) or arch.commands[n].role for n in self.names]
        self.rows = self._row_commands()
        self._plans: dict = {}
        self._banks: dict = {}

    # -- compilation -----------------------------------------------------------
    def _cmd_ticks(self, name: str) -> int:
        cycles = self.arch.commands[name].cycles if name in self.arch.commands else \
            self.spec.family.command_cycles.get(name, 1)
        return max(1, round(cycles * self.tpc))

    def _compile(self, spec):
        rules = [[[] for _ in range(self.nc)] for _ in self.levels]
        raw = [(r.level, r.preceding, r.following, r.latency, r.window, r.sibling) for r in spec.family.rules]
        for r in self.arch.constraints:
            window = r[4] if len(r) == 5 and isinstance(r[4], int) else 1
            raw.append((r[0], tuple(r[1]), tuple(r[2]), str(r[3]), window, len(r) == 5 and r[4] == "sibling"))
        for level, pre, fol, expr, window, sibling in raw:
            nominal = evaluate(expr, self.cycles, spec.name) * self.tpc
            for p in pre:
                for f in fol:
                    pi, fi = self.cmd[p], self.cmd[f]
                    lat = nominal + (self.cmd_ticks[pi] - 1) - (self.cmd_ticks[fi] - 1)
                    rules[self.levels.index(level)][pi].append((fi, lat, window, sibling))
        return rules

    def _latency(self, name: str) -> int:
        fam = self.spec.family
        expr = {"RD": fam.read_latency, "RDA": fam.read_latency, "WR": fam.write_latency,
                "WRA": fam.write_latency}.get(name)
        if expr is None and name in self.arch.commands:
            expr = self.arch.commands[name].latency
        return evaluate(expr, self.cycles, self.spec.name) * self.tpc if expr else 0

    def ticks(self, expr: str) -> int:
        """A latency expression over this device's timing table, in ticks."""
        return evaluate(expr, self.cycles, self.spec.name) * self.tpc

    def _row_commands(self):
        """cmd -> (open, close) command indices for commands that need their rows open."""
        out = {}
        for name in ("RD", "WR", "RDA", "WRA"):
            out[self.cmd[name]] = (self.cmd["ACT"], self.cmd["PRE"])
        for opener, closer in self.arch.rows.values():
            out[self.cmd[opener]] = (self.cmd[opener], self.cmd[closer])
        for name, c in self.arch.commands.items():
            if c.role == "compute":
                kind = self.arch.row_kind(name)
                if kind is None and c.banks == "bank":
                    out[self.cmd[name]] = (self.cmd["ACT"], self.cmd["PRE"])
                elif kind is not None:
                    opener, closer = self.arch.rows[kind]
                    out[self.cmd[name]] = (self.cmd[opener], self.cmd[closer])
        return out

    def mac_interval(self, name: str) -> int:
        """Ticks between two ``name`` commands by the rules at the levels every such command spans."""
        cmd = self.cmd[name]
        span = self.key_span(name) or ()
        common = next((j + 1 for j, wild in enumerate(span) if wild), len(self.levels))
        return max([lat for j in range(common) for f, lat, w, sib in self.rules[j][cmd]
                    if f == cmd and w == 1 and not sib] or [1])

    # -- bank sets -----------------------------------------------------------
    def key_span(self, name: str) -> tuple[bool, ...] | None:
        """Which levels below the channel command ``name`` spans (None: it touches no bank)."""
        spans = self.__dict__.setdefault("_spans", {})
        if name not in spans:
            spans[name] = self._key_span(name)
        return spans[name]

    def _key_span(self, name: str) -> tuple[bool, ...] | None:
        if name in ("PREA", "REF"):
            return tuple(j >= self.scope_level for j in range(1, len(self.levels)))
        if name in COMMANDS:
            return tuple(False for _ in self.levels[1:])
        return self.arch.wildcards(name, self.levels)

    def banks(self, key) -> tuple[int, ...]:
        """Flat indices of the banks a target key covers."""
        found = self._banks.get(key)
        if found is None:
            found = self._banks[key] = self._expand(key)
        return found

    def _expand(self, key) -> tuple[int, ...]:
        if key is None:
            return ()
        flats = [0]
        for size, idx in zip(self.sizes, key):
            choices = range(size) if idx is None else (idx,)
            flats = [f * size + c for f in flats for c in choices]
        return tuple(flats)

    def _nodes(self, key) -> list[list[int]]:
        """Per level, the node indices that are ancestors of (or are) the banks of ``key``."""
        if key is None:
            return [[self.base[0]]] + [[] for _ in self.levels[1:]]
        depth = len(self.levels) - 1
        out = []
        for j in range(depth + 1):
            per = self.counts[depth] // self.counts[j]
            out.append(sorted({self.base[j] + b // per for b in self.banks(key)}))
        return out

    # -- plans -----------------------------------------------------------------
    def plan(self, cmd: int, key):
        """(check offsets, plain updates, windowed updates, counters) for ``cmd`` on ``key`` (cached)."""
        k = (cmd, key)
        found = self._plans.get(k)
        if found is None:
            found = self._plans[k] = self._build_plan(cmd, key)
        return found

    def _build_plan(self, cmd, key):
        nodes = self._nodes(key)
        nc = self.nc
        check = tuple(n * nc + cmd for level in nodes for n in level)
        best: dict[int, int] = {}
        windowed: dict = {}
        for j, level_nodes in enumerate(nodes):
            for fol, lat, window, sibling in self.rules[j][cmd]:
                targets = self._siblings(j, level_nodes) if sibling else level_nodes
                for n in targets:
                    off = n * nc + fol
                    if window > 1:
                        windowed.setdefault((n * nc + cmd, window), []).append((off, lat))
                    elif lat > best.get(off, -INF):
                        best[off] = lat
        plain = tuple(best.items())
        wins = tuple((hk, w, tuple(f)) for (hk, w), f in windowed.items())
        return check, plain, wins, self._counters(cmd, key)

    def _siblings(self, j: int, level_nodes: list[int]) -> list[int]:
        if j == 0:
            return []
        per = self.counts[j] // self.counts[j - 1]
        chosen = set(level_nodes)
        out = set()
        for n in level_nodes:
            first = self.base[j] + (n - self.base[j]) // per * per
            out.update(m for m in range(first, first + per) if m not in chosen)
        return sorted(out)

    def _counters(self, cmd: int, key) -> tuple[int, ...]:
        name = self.names[cmd]
        nb = len(self.banks(key))
        burst = self.spec.organisation.access_bytes
        if name in COMMANDS:
            return {"ACT": (1, 0, 0, 0, 0, 0), "RD": (0, burst, 0, burst, 0, 0), "RDA": (0, burst, 0, burst, 0, 0),
                    "WR": (0, 0, burst, burst, 0, 0), "WRA": (0, 0, burst, burst, 0, 0),
                    "REF": (0, 0, 0, 0, 0, 1)}.get(name, (0,) * 6)
        c = self.arch.commands[name]
        per = self.counts[-1] // self.counts[len(self.levels) - 2] if len(self.levels) > 2 else 1
        groups = len({b // per for b in self.banks(key)})
        env = {"banks": nb, "bank_groups": groups, "burst": burst, "lanes": self.lanes}
        acts = nb if c.role == "open" else 0
        return (acts, evaluate(c.reads, env), evaluate(c.writes, env), evaluate(c.io, env),
                evaluate(c.macs, env), 0)


class ChannelState:
    """Ready times, open rows and counters of one channel of a PIM device."""

    __slots__ = ("tables", "ready", "history", "open_row", "register_mode", "counts", "counters", "last")

    def __init__(self, tables: PimTables):
        self.tables = tables
        self.ready = [-INF] * ((tables.base[-1] + tables.counts[-1]) * tables.nc)
        self.history: dict = {}
        self.open_row = [-1] * tables.nbanks
        self.register_mode = False
        self.counts = [0] * tables.nc
        self.counters = [0] * len(COUNTERS)
        self.last = -1                      # tick of the last command issued

    def next_command(self, cmd: int, key, row: int) -> int:
        """The command to issue next towards ``cmd`` on ``key`` at ``row``: a close, an open, or ``cmd``."""
        rows = self.tables.rows.get(cmd)
        if rows is None:
            return cmd
        open_row = self.open_row
        closed = False
        for b in self.tables.banks(key):
            r = open_row[b]
            if r < 0:
                closed = True
            elif r != row:
                return rows[1]
        return rows[0] if closed else cmd

    def earliest(self, cmd: int, key) -> float:
        """Earliest tick at which ``cmd`` on ``key`` satisfies every rule."""
        ready = self.ready
        return max(ready[o] for o in self.tables.plan(cmd, key)[0])

    def issue(self, cmd: int, key, t: int, row: int = -1) -> None:
        """Record ``cmd`` issued on ``key`` at tick ``t``: timing, open rows and counters."""
        tables = self.tables
        _, plain, wins, counters = tables.plan(cmd, key)
        raise_ready(self.ready, self.history, t, plain, wins)
        role = tables.role[cmd]
        if role == "open":
            for b in tables.banks(key):
                self.open_row[b] = row
        elif role == "close" or tables.names[cmd] in ("RDA", "WRA"):
            for b in tables.banks(key):
                self.open_row[b] = -1
        self.counts[cmd] += 1
        if any(counters):
            for i, v in enumerate(counters):
                self.counters[i] += v
        self.last = t

    def any_open(self, key) -> bool:
        return any(self.open_row[b] >= 0 for b in self.tables.banks(key))
