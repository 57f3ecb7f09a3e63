"""Registries: the ``kind:`` (or name) in a YAML file selects an implementation.

An extension point is a base class that owns a :class:`Registry`; subclasses
register themselves by passing ``kind=...`` in the class statement::

    class AddressMapping(Pluggable, registry=Registry("address mapping")): ...
    class RoBaRaCoCh(AddressMapping, kind="RoBaRaCoCh"): ...

Looking up an unknown kind raises a ConfigError that lists the valid ones.
"""

from __future__ import annotations

from pimsim.core.errors import ConfigError, did_you_mean


class Registry:
    """A named collection of implementations of one concept."""

    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, object] = {}

    def register(self, name: str, obj) -> None:
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.what} '{name}' registered twice")
        self._items[name] = obj

    def get(self, name: str, where: str | None = None):
        try:
            return self._items[name]
        except KeyError:
            lowered = {k.lower(): v for k, v in self._items.items()}
            if isinstance(name, str) and name.lower() in lowered:
                return lowered[name.lower()]
            raise ConfigError(f"unknown {self.what} '{name}'{did_you_mean(name, self._items)}", where) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self):
        return sorted(self._items.items())

    def __contains__(self, name) -> bool:
        return name in self._items


class Pluggable:
    """Mixin: subclasses declared with ``kind="name"`` join their base's registry."""

    registry: Registry

    def __init_subclass__(cls, kind: str | None = None, registry: Registry | None = None, **kw):
        super().__init_subclass__(**kw)
        if registry is not None:
            cls.registry = registry
        if kind is not None:
            cls.kind = kind
            cls.registry.register(kind, cls)
