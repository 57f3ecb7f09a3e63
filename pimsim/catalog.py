"""What pimsim knows about: presets by category and kind, and their resolved configs.

Each preset kind (``kind:`` in YAML) names the function that validates it and
returns a config object. To add a kind, add one line to :data:`KIND_LOADERS`;
``pimsim list`` and ``pimsim show-config`` then handle it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json

import yaml

from pimsim.core import presets
from pimsim.core.config import apply_sets, load_yaml
from pimsim.core.errors import ConfigError, did_you_mean

#: kind -> "module:function"; the function takes (name_or_path, sets) and returns a config object
KIND_LOADERS: dict[str, str] = {
    "dram": "pimsim.dram.spec:load_dram",
    "pim": "pimsim.pim.spec:load_pim",
    "gpu": "pimsim.devices.loading:load_device",
    "host": "pimsim.devices.loading:load_device",
    "npu": "pimsim.devices.loading:load_device",
    "upmem": "pimsim.devices.loading:load_device",
    "pnm": "pimsim.devices.loading:load_device",
    "pim-module": "pimsim.devices.loading:load_device",
    "cxl-memory": "pimsim.devices.loading:load_device",
    "link": "pimsim.devices.loading:load_device",
    "cxl-link": "pimsim.devices.loading:load_device",
    "switch": "pimsim.devices.loading:load_device",
    "system": "pimsim.system.spec:load_system_spec",
    "workload": "pimsim.trace.model:load_workload",
}


def kind_loader(kind: str):
    try:
        target = KIND_LOADERS[kind]
    except KeyError:
        raise ConfigError(f"unknown preset kind '{kind}'{did_you_mean(kind, KIND_LOADERS)}") from None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def _first_line(text) -> str:
    return " ".join(str(text or "").split())


def preset_rows(category: str) -> list[dict]:
    """One row per preset file of a category: name, kind, description, source, file."""
    rows = []
    seen = set()
    for path in sorted(set(presets.index(category).values())):
        if path in seen:
            continue
        seen.add(path)
        try:
            data = presets.resolve(load_yaml(path), category, str(path))
        except ConfigError as exc:
            rows.append({"name": path.stem, "kind": "?", "description": f"INVALID: {exc.one_line()}",
                         "source": "", "file": presets.relpath(path)})
            continue
        rows.append({"name": str(data.get("name", path.stem)), "kind": str(data.get("kind", category[:-1])),
                     "description": _first_line(data.get("description")), "source": _first_line(data.get("source")),
                     "file": presets.relpath(path)})
    return rows


def mapping_rows() -> list[dict]:
    from pimsim.dram.mapping import AddressMapping

    return [{"name": name, "kind": "mapping", "description": cls.description, "source": "Ramulator naming",
             "file": "pimsim/dram/mapping.py"} for name, cls in AddressMapping.registry.items()]


def catalog_table(what: str = "all") -> str:
    """Text table for ``pimsim list``."""
    sections = []
    cats = {"devices": lambda: preset_rows("devices"), "mappings": mapping_rows,
            "workloads": lambda: preset_rows("workloads"), "systems": lambda: preset_rows("systems")}
    for cat, rows_fn in cats.items():
        if what not in ("all", cat):
            continue
        rows = rows_fn()
        lines = [f"{cat} ({len(rows)})"]
        width = max((len(r["name"]) for r in rows), default=4)
        kind_w = max((len(r["kind"]) for r in rows), default=4)
        for r in rows:
            lines.append(f"  {r['name']:<{width}}  {r['kind']:<{kind_w}}  {r['description']}")
            if r["source"]:
                lines.append(f"  {'':<{width}}  {'':<{kind_w}}  source: {r['source']}")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def _plain(obj):
    """A config object as plain data (dicts, lists, numbers, strings)."""
    if dataclasses.is_dataclass(obj):
        out = {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        derived = getattr(obj, "derived", None)
        if callable(derived):
            out["derived"] = _plain(derived())
        cycles = getattr(obj, "cycles", None)
        if isinstance(cycles, dict):
            out["timing_cycles"] = dict(cycles)
        return out
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return _plain(obj.to_dict())
    return obj


def show_config_text(name: str, resolved: bool = False, sets=()) -> str:
    """YAML text of a preset (as written, or resolved and validated with derived fields)."""
    for category in presets.CATEGORIES:
        try:
            path = presets.find(name, category)
            break
        except ConfigError:
            continue
    else:
        everything = set()
        for category in presets.CATEGORIES:
            everything |= set(presets.index(category))
        raise ConfigError(f"unknown preset '{name}'{did_you_mean(name, everything)}")
    if not resolved:
        raw = apply_sets(load_yaml(path), sets)
        return yaml.safe_dump(raw, sort_keys=False, width=100)
    raw = presets.resolve(load_yaml(path), category, str(path))
    kind = raw.get("kind")
    if kind is None:
        raise ConfigError("no 'kind:' key, so it cannot be resolved", presets.relpath(path))
    config = kind_loader(str(kind))(str(path), sets)
    return yaml.safe_dump(json.loads(json.dumps(_plain(config), default=str)), sort_keys=False, width=100)
