"""Load any device, link or switch preset by name: YAML -> validated frozen config.

The preset's ``kind:`` picks the config class (see :data:`~pimsim.devices.base.PRESET_KINDS`).
Overrides come from a system file (``{preset: a100-80gb, memory_bw: 2TB/s}``)
or from ``--set key=value``; both are applied before validation, so an
override is checked exactly like a value written in the preset.
"""

from __future__ import annotations

import importlib

from pimsim.core import presets
from pimsim.core.config import apply_sets, build, deep_merge
from pimsim.core.errors import ConfigError
from pimsim.devices.base import PRESET_KINDS

#: Modules that define preset kinds; imported on first load so their kinds register.
KIND_MODULES = ("gpu", "host", "npu", "upmem", "pnm", "pim_module", "cxl_memory", "link", "switch")


def _import_kinds() -> None:
    for module in KIND_MODULES:
        importlib.import_module(f"pimsim.devices.{module}")


def preset_kinds() -> list[str]:
    """Every kind this package can load."""
    _import_kinds()
    return PRESET_KINDS.names()


def build_config(raw: dict, where: str, expect: tuple[str, ...] | None = None):
    """Validate a resolved preset mapping into its config class; ``where`` names the file."""
    _import_kinds()
    kind = raw.get("kind")
    if kind is None:
        raise ConfigError(f"no 'kind:' key (one of {', '.join(PRESET_KINDS.names())})", where)
    if expect is not None and kind not in expect:
        raise ConfigError(f"is a '{kind}' preset, expected {' or '.join(repr(k) for k in expect)}", where)
    cls = PRESET_KINDS.get(str(kind), f"{where} kind")
    try:
        return build(cls, raw, where)
    except ConfigError as exc:
        if exc.where and not exc.where.startswith(where.rstrip(":")):
            raise ConfigError(exc.message, f"{where} {exc.where}") from None
        raise


def load_device(name: str, sets=(), overrides: dict | None = None, expect: tuple[str, ...] | None = None):
    """Load preset ``name`` (or a YAML path) with overrides and ``--set`` options, validated."""
    raw, path = presets.load(name, "devices")
    if overrides:
        raw = deep_merge(raw, overrides)
    raw = apply_sets(raw, sets)
    return build_config(raw, presets.relpath(path) + ":", expect)
