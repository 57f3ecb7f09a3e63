"""An independent checker of DRAM command logs against a family's rules.

It re-reads the family's constraint list (not pimsim's compiled tables) and, for
every logged command, checks every rule whose "following" command it is
against the earlier commands on the same node (or, for sibling rules, the other
nodes under the same parent). Latencies follow JEDEC: from the end of one
command to the end of the next, so multi-cycle commands shift the bound.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np

from pimsim.dram.family import COLUMN_COMMANDS, COMMANDS, ROW_COMMANDS, evaluate
from pimsim.dram.memory import MemorySystem, RequestBatch


def coords(spec, bank: int) -> list[int]:
    """Per-level coordinates (pseudo-channel ... bank) of a flat bank index."""
    out = []
    for size in reversed(spec.level_sizes()):
        out.append(bank % size)
        bank //= size
    return out[::-1]


def node_key(spec, level_index: int, bank: int):
    """Identity of the node at ``level_index`` (0 = channel) above ``bank``."""
    return tuple(coords(spec, bank)[:level_index])


def cmd_ticks(spec, cmd: str) -> int:
    return max(1, round(spec.family.command_cycles.get(cmd, 1) * spec.ticks_per_clock))


def bound_ticks(spec, rule_latency: str, pre: str, fol: str) -> int:
    nominal = evaluate(rule_latency, spec.cycles) * spec.ticks_per_clock
    return nominal + (cmd_ticks(spec, pre) - 1) - (cmd_ticks(spec, fol) - 1)


def expand(spec, target: int) -> list[int]:
    """Banks a logged command acts on: one bank, or every bank of a refresh scope (target < 0)."""
    if target >= 0:
        return [target]
    scope = -1 - target
    sizes = spec.level_sizes()
    depth = spec.family.levels.index(spec.family.refresh_scope)
    per = int(np.prod(sizes[depth:]))
    return list(range(scope * per, (scope + 1) * per))


def _rules(spec):
    fam = spec.family
    levels = fam.levels
    rules = [(levels.index(r.level), p, f, bound_ticks(spec, r.latency, p, f), r.window, r.sibling)
             for r in fam.rules for p in r.preceding for f in r.following]
    buses = [ROW_COMMANDS, COLUMN_COMMANDS] if fam.command_bus == "dual" else [COMMANDS]
    for bus in buses:
        for p in bus:
            if cmd_ticks(spec, p) > 1:
                rules.extend((0, p, f, cmd_ticks(spec, p), 1, False) for f in bus)
    return rules


def violations(spec, log) -> list[str]:
    """Every (rule, pair) in ``log`` that issued before its bound; [] if none."""
    levels = spec.family.levels
    found = []
    history = defaultdict(lambda: deque(maxlen=8))       # (level, node, cmd) -> recent ticks
    rules = _rules(spec)
    for t, cmd_id, target in log:
        cmd = COMMANDS[cmd_id]
        banks = expand(spec, target)
        for level, p, f, lat, window, sibling in rules:
            if f != cmd:
                continue
            for node in {node_key(spec, level, b) for b in banks}:
                if sibling:
                    size = spec.level_sizes()[level - 1]
                    for other in range(size):
                        past = history.get((level, node[:-1] + (other,), p))
                        if other != node[-1] and past and t - past[-1] < lat:
                            found.append(f"{p}@{past[-1]} -> {cmd}@{t} sibling {levels[level]}: {lat}")
                    continue
                past = history.get((level, node, p), ())
                if len(past) >= window and t - past[-window] < lat:
                    found.append(f"{p}@{past[-window]} -> {cmd}@{t} at {levels[level]} {node}: "
                                 f"{t - past[-window]} < {lat}")
        for level in range(len(levels)):
            for node in {node_key(spec, level, b) for b in banks}:
                history[(level, node, cmd)].append(t)
    return found


def run(spec, requests, width=None):
    """Replay [(cycle, 'R'|'W', bank, row, col)] on channel 0, recording commands.

    Returns (result, command log of channel 0, memory system).
    """
    at = np.array([r[0] for r in requests], dtype=np.int64)
    batch = RequestBatch(np.zeros(len(requests), dtype=np.int64), np.array([r[2] for r in requests]),
                         np.array([r[3] for r in requests]), np.array([r[4] for r in requests]),
                         np.array([r[1] == "W" for r in requests]), at)
    mem = MemorySystem(spec, record=True)
    result = mem.replay(batch, width=width)
    return result, mem.controllers[0].log, mem
