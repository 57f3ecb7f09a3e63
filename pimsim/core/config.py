"""Configuration: YAML files into frozen, validated dataclasses.

A configuration class is a frozen dataclass whose fields are declared with
:func:`param`, giving each a unit kind (see :mod:`pimsim.core.units`) and a
description. :func:`build` turns a plain mapping (from YAML) into an instance,
rejecting unknown keys, missing keys, values of the wrong type and quantities
without units, naming the file and key in the error. Nothing downstream
re-validates or mutates a built config.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

from pimsim.core.errors import ConfigError, PimsimError, did_you_mean
from pimsim.core.units import parse_quantity

MISSING = dataclasses.MISSING


def param(doc: str, unit: str | None = None, default: Any = MISSING, *, choices=None,
          minimum: float | None = None):
    """Declare a config field: ``unit`` is a quantity kind ("time", "size", ...) or None."""
    meta = {"doc": doc, "unit": unit, "choices": choices, "minimum": minimum}
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda d=default: copy.deepcopy(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _join(where: str, key: str) -> str:
    if ":" in where and not where.endswith(":"):
        return f"{where}.{key}"
    return f"{where} {key}".strip() if where.endswith(":") else f"{where}: {key}" if where else key


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value, tp, meta: Mapping, where: str):
    """Convert one YAML value to the field's declared type, or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], meta, where)
    unit = meta.get("unit")
    if unit is not None:
        result = parse_quantity(value, unit, where)
    elif dataclasses.is_dataclass(tp):
        result = build(tp, value, where)
    elif origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"expected a mapping, got {value!r}", where)
        _, vtp = typing.get_args(tp)
        result = {str(k): _convert(v, vtp, {}, f"{where}.{k}") for k, v in value.items()}
    elif origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"expected a list, got {value!r}", where)
        args = typing.get_args(tp)
        etp = args[0] if args else Any
        items = [_convert(v, etp, {}, f"{where}[{i}]") for i, v in enumerate(value)]
        result = tuple(items) if origin is tuple else items
    elif tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", where)
        result = value
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected an integer, got {value!r}", where)
        result = value
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", where)
        result = float(value)
    elif tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"expected text, got {value!r}", where)
        result = str(value)
    else:
        result = value
    choices = meta.get("choices")
    if choices is not None and result not in choices:
        raise ConfigError(f"'{result}' is not allowed{did_you_mean(result, choices)}", where)
    minimum = meta.get("minimum")
    if minimum is not None and result is not None and result < minimum:
        raise ConfigError(f"{result!r} is below the minimum {minimum}", where)
    return result


def _needs_conversion(default, tp, meta) -> bool:
    """Defaults written as YAML would be ("32B", {}) are converted like given values."""
    if meta.get("unit") is not None and isinstance(default, str):
        return True
    return dataclasses.is_dataclass(tp) and isinstance(default, dict)


def build(cls, data, where: str = ""):
    """Build dataclass ``cls`` from mapping ``data``; ``where`` prefixes error locations."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping of keys to values, got {data!r}", where or None)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}'{did_you_mean(unknown[0], fields)}",
                          _join(where, str(unknown[0])))
    kwargs = {}
    for name, f in fields.items():
        loc = _join(where, name)
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], f.metadata, loc)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"missing required key '{name}' ({f.metadata.get('doc', '')})", loc)
        else:
            default = f.default if f.default is not MISSING else f.default_factory()
            if _needs_conversion(default, hints[name], f.metadata):
                kwargs[name] = _convert(default, hints[name], f.metadata, loc)
    try:
        return cls(**kwargs)
    except PimsimError as exc:
        # a cross-field check in __post_init__ names a key relative to this mapping
        if where and (exc.where is None or ":" not in exc.where):
            raise type(exc)(exc.message, _join(where, exc.where) if exc.where else where.rstrip(":")) from None
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), where or None) from None


def describe(cls, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, unit, default, doc) rows for every field of a config class, recursively."""
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows.extend(describe(tp, key + "."))
            continue
        default = "" if f.default is MISSING else repr(f.default)
        rows.append((key, f.metadata.get("unit") or _type_name(tp), default, f.metadata.get("doc", "")))
    return rows


# -- YAML -------------------------------------------------------------------

def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with ``yaml.safe_load``; any problem is one ConfigError."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError("file not found", str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not a UTF-8 text file", str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML: {problem}", loc) from None
    if data is None:
        raise ConfigError("file is empty", str(path))
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys to values at the top level", str(path))
    return data


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """Return ``base`` with ``override`` merged in; nested mappings merge key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_set_option(text: str) -> tuple[list[str], Any]:
    """Parse ``--set key.path=value``; the value is read as YAML (``16``, ``14ns``, ``true``)."""
    if "=" not in text:
        raise ConfigError(f"--set expects key.path=value, got '{text}'")
    key, _, raw = text.partition("=")
    path = [p for p in key.strip().split(".")]
    if not all(path):
        raise ConfigError(f"--set has an empty key in '{text}'")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_sets(data: Mapping, sets: list[str] | tuple[str, ...]) -> dict:
    """Apply ``--set`` options to a raw (unvalidated) config mapping."""
    out = copy.deepcopy(dict(data))
    for text in sets or ():
        path, value = parse_set_option(text)
        node = out
        for i, key in enumerate(path[:-1]):
            nxt = node.get(key)
            if nxt is None:
                nxt = node[key] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {text}: '{'.'.join(path[:i + 1])}' is not a mapping")
            node = nxt
        node[path[-1]] = value
    return out
