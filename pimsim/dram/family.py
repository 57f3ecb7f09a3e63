"""A DRAM protocol family: hierarchy levels, commands and timing rules, as data.

A family (``pimsim/dram/families/<name>.yaml``) says *which* timing parameter
separates *which* pair of commands at *which* level of the hierarchy (e.g.
"RD to RD in the same bank group: tCCD_L"). The numbers come from a device
preset (:mod:`pimsim.dram.spec`). Keeping the two apart lets one rule set
serve every speed bin of a standard.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
from functools import lru_cache
from pathlib import Path

from pimsim.core.config import build, load_yaml, param
from pimsim.core.errors import ConfigError, did_you_mean

FAMILY_DIR = Path(__file__).parent / "families"

#: Every command the controller knows. PRE/PREA close one/all banks, RDA/WRA
#: are column accesses with auto-precharge, REF is an all-bank refresh.
COMMANDS = ("ACT", "PRE", "PREA", "RD", "WR", "RDA", "WRA", "REF")
ROW_COMMANDS = ("ACT", "PRE", "PREA", "REF")
COLUMN_COMMANDS = ("RD", "WR", "RDA", "WRA")
CMD = {name: i for i, name in enumerate(COMMANDS)}

#: Hierarchy level name -> the organisation field giving its fan-out.
LEVEL_FIELDS = {"channel": "channels", "rank": "ranks", "pseudo_channel": "pseudo_channels",
                "stack_id": "stack_ids", "bank_group": "bank_groups", "bank": "banks"}


@dataclasses.dataclass(frozen=True)
class Constraint:
    """Command ``following`` may not issue before ``latency`` after ``preceding``.

    With ``window`` = w > 1 the bound runs from the w-th most recent ``preceding``
    (tFAW: window 4). ``sibling`` applies it to the *other* nodes of the level
    under the same parent (HBM3 tCCD_R between stack IDs).
    """

    level: str
    preceding: tuple[str, ...]
    following: tuple[str, ...]
    latency: str
    window: int = 1
    sibling: bool = False


@dataclasses.dataclass(frozen=True)
class Family:
    """The rules of one DRAM standard (levels, buses, constraints)."""

    family: str = param("Family name, referenced by device presets as `standard:`")
    description: str = param("One-line description")
    source: str = param("Standard document and reference implementation the rules follow")
    levels: list[str] = param("Hierarchy from channel down to bank")
    refresh_scope: str = param("Level at which one all-bank REF is issued")
    command_bus: str = param("'dual': separate row and column buses; 'single': one command per tick",
                             choices=("dual", "single"))
    clock_edges: str = param("'single' or 'hbm3' (row PRE also on falling edges)", choices=("single", "hbm3"))
    read_latency: str = param("Cycles from RD issue to the last data beat")
    write_latency: str = param("Cycles from WR issue to the last data beat")
    timings: list[str] = param("Timing parameters (in tCK) a device of this family must give")
    constraints: list[list] = param("[level, from, to, latency(, window | 'sibling')] rules")
    command_cycles: dict[str, float] = param("Command-bus occupancy in tCK (default 1)", default={})
    ticks_per_clock: int = param("Controller ticks per tCK (2 for half-clock row commands)", default=1)
    optional_timings: list[str] = param("Timing parameters a device may give but need not", default=[])

    def __post_init__(self):
        where = f"{self.family} family"
        if self.levels[0] != "channel" or self.levels[-1] != "bank":
            raise ConfigError("levels must run from 'channel' to 'bank'", where)
        for level in self.levels:
            if level not in LEVEL_FIELDS:
                raise ConfigError(f"unknown level '{level}'{did_you_mean(level, LEVEL_FIELDS)}", where)
        if self.refresh_scope not in self.levels:
            raise ConfigError(f"refresh_scope '{self.refresh_scope}' is not a level", where)
        for cmd in self.command_cycles:
            if cmd not in CMD:
                raise ConfigError(f"unknown command '{cmd}'{did_you_mean(cmd, COMMANDS)}", where)
        object.__setattr__(self, "rules", tuple(self._parse_rule(r, i) for i, r in enumerate(self.constraints)))

    def _parse_rule(self, rule, index) -> Constraint:
        where = f"{self.family} family: constraints[{index}]"
        if not isinstance(rule, list) or len(rule) not in (4, 5):
            raise ConfigError("a constraint is [level, from, to, latency(, window | sibling)]", where)
        level, pre, fol, latency = rule[:4]
        if level not in self.levels:
            raise ConfigError(f"unknown level '{level}'{did_you_mean(level, self.levels)}", where)
        for cmd in list(pre) + list(fol):
            if cmd not in CMD:
                raise ConfigError(f"unknown command '{cmd}'{did_you_mean(cmd, COMMANDS)}", where)
        window, sibling = 1, False
        if len(rule) == 5:
            if rule[4] == "sibling":
                sibling = True
            elif isinstance(rule[4], int) and rule[4] >= 1:
                window = rule[4]
            else:
                raise ConfigError(f"fifth entry must be a window (int) or 'sibling', got {rule[4]!r}", where)
        names = set(self.timings) | set(self.optional_timings)
        for name in expression_names(str(latency), where):
            if name not in names:
                raise ConfigError(f"latency uses '{name}', which is not in the family's timings", where)
        return Constraint(level, tuple(pre), tuple(fol), str(latency), window, sibling)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.FloorDiv: operator.floordiv, ast.USub: operator.neg}


def _parse_expr(text: str, where: str) -> ast.AST:
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ConfigError(f"cannot read latency expression '{text}'", where) from None


def expression_names(text: str, where: str = "") -> set[str]:
    """Names used in a latency expression such as ``CWL + BL + tWTR_L``."""
    return {n.id for n in ast.walk(_parse_expr(text, where)) if isinstance(n, ast.Name)}


def evaluate(text: str, values: dict[str, int], where: str = "") -> int:
    """Evaluate a latency expression (integers, names, + - * //, max/min) safely."""

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ConfigError(f"'{node.id}' has no value", where)
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("max", "min"):
            fn = max if node.func.id == "max" else min
            return fn(ev(a) for a in node.args)
        raise ConfigError(f"unsupported element in latency expression '{text}'", where)

    return ev(_parse_expr(text, where))


def family_names() -> list[str]:
    return sorted(p.stem for p in FAMILY_DIR.glob("*.yaml"))


@lru_cache(maxsize=None)
def load_family(name: str) -> Family:
    """Load and validate the rules of DRAM family ``name`` (e.g. ``hbm3``)."""
    path = FAMILY_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown DRAM standard '{name}'{did_you_mean(name, family_names())}")
    return build(Family, load_yaml(path), str(path.name) + ":")
