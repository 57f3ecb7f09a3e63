"""A system file (``systems/*.yaml``): which devices, how many, and the links between them.

::

    kind: system
    name: cent
    source: Gu et al., "PIM Is All You Need", ASPLOS 2025
    devices:
      host:   {preset: cent-host}
      switch: {preset: cxl3-switch}
      pim:    {preset: cent-cxl-aim, count: 32}
    links:
      - {between: [host, switch], preset: cxl3-x16}
      - {between: [switch, pim], preset: cxl3-x4}

Every key of a device or link entry other than ``preset``/``count``/``between``
overrides the preset (``{preset: a100-80gb, memory_bw: 2TB/s}``). A group with
``count: n`` becomes nodes ``pim0 ... pim31``. A link between a single node and
a group connects the node to each member; between two groups of equal size it
pairs them (``gpu3`` with ``attacc3``). ``route_probe`` (default 64 KiB) is the
transfer size by whose idle time routes are ranked. Loading validates every
preset, so a bad value is reported with the system file and the key that holds it.
"""

from __future__ import annotations

import dataclasses

from pimsim.core import presets
from pimsim.core.config import apply_sets, deep_merge
from pimsim.core.errors import ConfigError, did_you_mean
from pimsim.core.units import parse_bytes
from pimsim.devices.loading import build_config

SYSTEM_KEYS = ("kind", "name", "source", "description", "devices", "links", "route_probe")


@dataclasses.dataclass(frozen=True)
class NodeGroup:
    """One ``devices:`` entry: a preset config and how many instances."""

    group: str
    count: int
    config: object

    @property
    def instances(self) -> list[str]:
        return [self.group] if self.count == 1 else [f"{self.group}{i}" for i in range(self.count)]


@dataclasses.dataclass(frozen=True)
class LinkGroup:
    """One ``links:`` entry: two groups and the link preset joining them."""

    between: tuple[str, str]
    config: object


@dataclasses.dataclass(frozen=True)
class SystemSpec:
    """A validated system: node groups and link groups."""

    kind: str
    name: str
    source: str
    description: str
    devices: dict[str, NodeGroup]
    links: list[LinkGroup]
    route_probe: int
    file: str = ""


def _entry(raw, where: str, required: tuple[str, ...]) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping such as {{preset: NAME}}, got {raw!r}", where)
    for key in required:
        if key not in raw:
            raise ConfigError(f"missing required key '{key}'", f"{where}.{key}")
    return raw


def _load_preset(entry: dict, skip: tuple[str, ...], where: str, expect=None):
    name = entry["preset"]
    if not isinstance(name, str):
        raise ConfigError(f"'preset' must be a preset name, got {name!r}", f"{where}.preset")
    overrides = {k: v for k, v in entry.items() if k not in skip}
    try:
        raw, _ = presets.load(name, "devices")
    except ConfigError as exc:
        raise ConfigError(exc.message, f"{where}.preset") from None
    return build_config(deep_merge(raw, overrides), f"{where} (preset {name}):", expect)


def _device_group(group: str, raw, where: str) -> NodeGroup:
    entry = _entry(raw, where, ("preset",))
    count = entry.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"count must be a whole number of at least 1, got {count!r}", f"{where}.count")
    config = _load_preset(entry, ("preset", "count"), where)
    if config.kind in ("link", "cxl-link"):
        raise ConfigError(f"preset '{entry['preset']}' is a link; put it under links:", f"{where}.preset")
    return NodeGroup(group, count, config)


def _link_group(raw, where: str, groups: dict) -> LinkGroup:
    entry = _entry(raw, where, ("between", "preset"))
    ends = entry["between"]
    if not (isinstance(ends, (list, tuple)) and len(ends) == 2 and all(isinstance(e, str) for e in ends)):
        raise ConfigError(f"'between' must name two device groups, got {ends!r}", f"{where}.between")
    for end in ends:
        if end not in groups:
            raise ConfigError(f"unknown device '{end}'{did_you_mean(end, groups)}", f"{where}.between")
    if ends[0] == ends[1]:
        raise ConfigError(f"a link joins two different groups, got {ends[0]!r} twice", f"{where}.between")
    a, b = (groups[e].count for e in ends)
    if a != 1 and b != 1 and a != b:
        raise ConfigError(f"cannot pair {ends[0]} (count {a}) with {ends[1]} (count {b}): one side must be a "
                          f"single device or both the same size", f"{where}.between")
    config = _load_preset(entry, ("preset", "between"), where, expect=("link", "cxl-link"))
    return LinkGroup((ends[0], ends[1]), config)


def build_system_spec(raw: dict, where: str) -> SystemSpec:
    """Validate a system mapping (``where`` names its file, e.g. ``systems/cent.yaml:``)."""
    unknown = [k for k in raw if k not in SYSTEM_KEYS]
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}'{did_you_mean(unknown[0], SYSTEM_KEYS)}", f"{where} {unknown[0]}")
    if raw.get("kind") != "system":
        raise ConfigError(f"expected kind: system, got {raw.get('kind')!r}", f"{where} kind")
    for key in ("name", "source", "devices", "links"):
        if key not in raw:
            raise ConfigError(f"missing required key '{key}'", f"{where} {key}")
    devices = raw["devices"]
    if not isinstance(devices, dict) or not devices:
        raise ConfigError("'devices' must map group names to {preset: ...}", f"{where} devices")
    groups = {str(g): _device_group(str(g), e, f"{where} devices.{g}") for g, e in devices.items()}
    if not isinstance(raw["links"], list):
        raise ConfigError("'links' must be a list of {between: [a, b], preset: ...}", f"{where} links")
    links = [_link_group(e, f"{where} links[{i}]", groups) for i, e in enumerate(raw["links"])]
    probe = parse_bytes(raw.get("route_probe", "64KiB"), f"{where} route_probe")
    if probe < 1:
        raise ConfigError("route_probe must be at least 1 byte", f"{where} route_probe")
    return SystemSpec("system", str(raw["name"]), str(raw["source"]), str(raw.get("description", "")), groups,
                      links, probe, where.rstrip(":"))


def load_system_spec(name: str, sets=()) -> SystemSpec:
    """Load ``systems/<name>.yaml`` (or a path), apply ``--set`` options, validate every preset in it."""
    raw, path = presets.load(name, "systems")
    raw = apply_sets(raw, sets)
    return build_system_spec(raw, presets.relpath(path) + ":")
