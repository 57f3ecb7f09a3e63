"""Presets: named YAML files in ``devices/``, ``workloads/`` and ``systems/``.

A preset is found by its ``name:`` field or its file name (without ``.yaml``).
A mapping may start from another preset and override fields::

    preset: hbm3-6400
    timing_cycles: {tRCD_RD: 33}

Presets are searched in the directories of ``$PIMSIM_PATH`` (separated by the
OS path separator) first, then in the project's own top-level folders.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pimsim.core.config import deep_merge, load_yaml
from pimsim.core.errors import ConfigError, did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ("devices", "workloads", "systems")


def search_dirs(category: str) -> list[Path]:
    dirs = []
    for entry in os.environ.get("PIMSIM_PATH", "").split(os.pathsep):
        if entry:
            p = Path(entry)
            dirs.append(p / category if (p / category).is_dir() else p)
    dirs.append(PROJECT_ROOT / category)
    return [d for d in dirs if d.is_dir()]


@lru_cache(maxsize=None)
def _index(category: str, env_key: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in reversed(search_dirs(category)):  # earlier dirs win
        for path in sorted(d.glob("*.yaml")):
            found[path.stem] = path
            try:
                data = load_yaml(path)
            except ConfigError:
                continue  # reported when the preset is actually used
            name = data.get("name")
            if isinstance(name, str):
                found[name] = path
    return found


def index(category: str) -> dict[str, Path]:
    """Map of preset name (and file stem) -> file, for one category."""
    return _index(category, os.environ.get("PIMSIM_PATH", ""))


def find(name: str, category: str) -> Path:
    """Path of preset ``name``, or of ``name`` itself if it is an existing file."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    idx = index(category)
    if name in idx:
        return idx[name]
    names = sorted({str(path.stem) for path in idx.values()} | {k for k in idx if "/" not in k})
    raise ConfigError(f"unknown {category[:-1]} '{name}'{did_you_mean(name, names)}")


def resolve(data: dict, category: str, where: str, _seen: tuple = ()) -> dict:
    """Expand ``preset:`` references (recursively) into one merged mapping."""
    if "preset" not in data:
        return dict(data)
    base_name = data["preset"]
    if not isinstance(base_name, str):
        raise ConfigError(f"'preset' must be a preset name, got {base_name!r}", f"{where}: preset")
    if base_name in _seen:
        raise ConfigError(f"preset cycle: {' -> '.join(_seen + (base_name,))}", where)
    base_path = find(base_name, category)
    base = resolve(load_yaml(base_path), category, str(base_path), _seen + (base_name,))
    own = {k: v for k, v in data.items() if k != "preset"}
    merged = deep_merge(base, own)
    if "name" not in own:
        merged["name"] = base.get("name", base_name)
    return merged


def load(name: str, category: str) -> tuple[dict, Path]:
    """Load preset ``name`` (or a YAML path) with its ``preset:`` chain resolved."""
    path = find(name, category)
    return resolve(load_yaml(path), category, str(path)), path


def relpath(path: Path) -> str:
    """Path shown in messages: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
