"""A PIM architecture: the commands a PIM DRAM adds to its family, and their timing rules, as data.

An architecture file (``pimsim/pim/archs/<name>.yaml``) extends one DRAM family
(``pimsim/dram/families``). It names each PIM command with

* ``banks`` — which banks one command acts on: ``all`` (every bank of the
  channel), ``none`` (no bank: a register, buffer or mode command), ``bank`` (one
  bank), or a list of hierarchy levels the command spans (``[bank_group]``: the
  same bank in every bank group);
* ``role`` — ``open``/``close`` (row commands), ``compute`` (reads or writes the
  open rows of its banks), ``read``/``write`` (moves data over the external bus
  without touching a bank), ``mode`` or ``sync``;
* ``latency`` — cycles from issue until its result is complete;
* energy counters — ``reads``/``writes`` (bytes through the bank arrays),
  ``io`` (bytes over the pins), ``macs`` (multiply-adds), as expressions over
  ``banks``, ``bank_groups``, ``burst`` and ``lanes``.

``rows`` says which command opens and which closes each bank-set kind;
``constraints`` are ``[level, from, to, latency]`` rules exactly like a family's,
over family and PIM command names. Rules among the family's own commands stay in
the family file.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

from pimsim.core.config import build, load_yaml, param
from pimsim.core.errors import ConfigError, did_you_mean
from pimsim.dram.family import COMMANDS, expression_names, load_family

ARCH_DIR = Path(__file__).parent / "archs"
ROLES = ("open", "close", "compute", "read", "write", "mode", "sync")
BANK_ALIASES = ("all", "none", "bank")
COUNTER_NAMES = {"banks", "bank_groups", "burst", "lanes"}


@dataclasses.dataclass(frozen=True)
class CommandDef:
    """One PIM command."""

    banks: object = param("Banks it acts on: all, none, bank, or a list of the levels it spans")
    role: str = param("What it does", choices=ROLES)
    latency: str = param("Cycles from issue to completion", default="1")
    reads: str = param("Bytes read from the bank arrays", default="0")
    writes: str = param("Bytes written to the bank arrays", default="0")
    io: str = param("Bytes moved over the external data bus", default="0")
    macs: str = param("Multiply-adds performed", default="0")
    cycles: int = param("Command-bus occupancy in tCK", default=1, minimum=1)


@dataclasses.dataclass(frozen=True)
class ModeSwitch:
    """A command that must precede any change between register and bank commands (AiM TMOD)."""

    command: str = param("The mode-switch command")
    register: list[str] = param("Commands of the 'register' mode; every other command is of the bank mode")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """The commands and rules one PIM design adds to its DRAM family."""

    architecture: str = param("Architecture name, referenced by PIM presets")
    description: str = param("One-line description")
    source: str = param("Papers and reference implementations the commands and rules follow")
    family: str = param("DRAM family this extends")
    commands: dict[str, CommandDef] = param("PIM commands by name")
    rows: dict[str, list[str]] = param("Bank-set kind -> [open command, close command]")
    constraints: list[list] = param("[level, from, to, latency] rules involving PIM commands")
    mode_switch: ModeSwitch | None = param("Mode-switch command, if the design has one", default=None)
    timings: list[str] = param("Timing parameters (tCK) the PIM preset must add to the DRAM preset's",
                               default=[])

    def __post_init__(self):
        where = f"{self.architecture} architecture"
        fam = load_family(self.family)
        names = set(COMMANDS) | set(self.commands)
        for name, cmd in self.commands.items():
            self._check_command(name, cmd, fam, where)
        for kind, pair in self.rows.items():
            if len(pair) != 2 or any(c not in names for c in pair):
                raise ConfigError(f"rows.{kind} must be [open command, close command] of known commands", where)
        if self.mode_switch is not None:
            for c in [self.mode_switch.command] + list(self.mode_switch.register):
                if c not in names:
                    raise ConfigError(f"mode_switch names unknown command '{c}'{did_you_mean(c, names)}", where)
        timings = set(fam.timings) | set(fam.optional_timings) | set(self.timings)
        for i, rule in enumerate(self.constraints):
            self._check_rule(rule, fam, names, timings, f"{where}: constraints[{i}]")
        object.__setattr__(self, "family_rules", fam)
        object.__setattr__(self, "timing_names", timings)

    @staticmethod
    def _check_command(name, cmd, fam, where):
        if name in COMMANDS:
            raise ConfigError(f"'{name}' is a {fam.family} command; PIM commands need their own names", where)
        if not isinstance(cmd.banks, (str, list)) or isinstance(cmd.banks, list) and \
                not all(isinstance(b, str) for b in cmd.banks):
            raise ConfigError(f"commands.{name}.banks: expected all, none, bank or a list of levels, "
                              f"got {cmd.banks!r}", where)
        if isinstance(cmd.banks, str):
            if cmd.banks not in BANK_ALIASES:
                raise ConfigError(f"commands.{name}.banks: '{cmd.banks}' is not one of {', '.join(BANK_ALIASES)} "
                                  "or a list of levels", where)
        else:
            for level in cmd.banks:
                if level not in fam.levels[1:]:
                    raise ConfigError(f"commands.{name}.banks: '{level}' is not a level below the channel of "
                                      f"{fam.family}{did_you_mean(level, fam.levels[1:])}", where)
        for counter in ("reads", "writes", "io", "macs"):
            unknown = expression_names(getattr(cmd, counter), where) - COUNTER_NAMES
            if unknown:
                raise ConfigError(f"commands.{name}.{counter} uses unknown name(s) {sorted(unknown)}; "
                                  f"valid: {', '.join(sorted(COUNTER_NAMES))}", where)

    @staticmethod
    def _check_rule(rule, fam, names, timings, where):
        if not isinstance(rule, list) or len(rule) not in (4, 5):
            raise ConfigError("a constraint is [level, from, to, latency(, window | sibling)]", where)
        level, pre, fol = rule[0], rule[1], rule[2]
        if level not in fam.levels:
            raise ConfigError(f"unknown level '{level}'{did_you_mean(level, fam.levels)}", where)
        for c in list(pre) + list(fol):
            if c not in names:
                raise ConfigError(f"unknown command '{c}'{did_you_mean(c, names)}", where)
        unknown = expression_names(str(rule[3]), where) - timings
        if unknown:
            raise ConfigError(f"latency '{rule[3]}' uses {sorted(unknown)}, not timings of {fam.family} "
                              "or of this architecture", where)

    # -- queries -------------------------------------------------------------
    def wildcards(self, name: str, levels: list[str]) -> tuple[bool, ...] | None:
        """For each level below the channel: does command ``name`` span it? None: no banks at all."""
        banks = self.commands[name].banks
        if banks == "none":
            return None
        if banks == "all":
            return tuple(True for _ in levels[1:])
        if banks == "bank":
            return tuple(False for _ in levels[1:])
        return tuple(level in banks for level in levels[1:])

    def row_kind(self, name: str) -> str | None:
        """The ``rows`` kind whose open/close commands serve command ``name`` (by equal bank span)."""
        banks = self.commands[name].banks
        for kind, (opener, _) in self.rows.items():
            if opener in self.commands and self.commands[opener].banks == banks:
                return kind
        return None


def arch_names() -> list[str]:
    return sorted(p.stem.replace("_", "-") for p in ARCH_DIR.glob("*.yaml"))


@lru_cache(maxsize=None)
def load_arch(name: str) -> Architecture:
    """Load and validate PIM architecture ``name`` (``aim``, ``hbm-pim``, ``attacc``)."""
    path = ARCH_DIR / f"{name.replace('-', '_')}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown PIM architecture '{name}'{did_you_mean(name, arch_names())}")
    return build(Architecture, load_yaml(path), f"pimsim/pim/archs/{path.name}:")
