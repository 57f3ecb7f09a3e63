"""Point kinds: what one point of a sweep runs.

A kind turns a point's configuration (the sweep's ``base`` with the swept values
set) into a flat dict of metrics. It is a :class:`PointKind` subclass declared
with ``kind="name"``; the name is the sweep file's ``kind:``. Adding one::

    class ScenarioPoint(PointKind, kind="scenario"):
        def prepare(self, raw, base_dir, seed): ...   # check, resolve presets -> Prepared
        def run(self, task, seed): ...                 # -> {"tokens_per_s": ..., ...}

and naming its module in :data:`KIND_MODULES`. Every metric a kind returns must
be declared with :func:`pimsim.results.metrics.metric` (name, unit, one line).

``prepare`` runs in the process that plans the sweep: it validates the point,
resolves presets into plain data and says what identifies the point (hashed
into its key). ``run`` runs on a worker, possibly on another machine, from the
plain ``task`` alone, so a worker never re-reads a preset that might differ.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from pimsim.core.registry import Pluggable, Registry

# Modules that define point kinds; importing them registers the kinds (workers import them too).
KIND_MODULES = (
    "pimsim.experiments.dram_point",
    "pimsim.experiments.trace_point",
    "pimsim.experiments.scenario_point",
)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A point made ready to run.

    ``task`` is what :meth:`PointKind.run` needs (plain data, sent to a worker);
    ``resolved`` is what the results file records as the resolved presets;
    ``identity`` is everything the metrics depend on: its hash is the point's key.
    """

    task: dict
    resolved: dict
    identity: dict


class PointKind(Pluggable, registry=Registry("point kind")):
    """What one sweep point runs: a configuration in, a flat dict of declared metrics out."""

    def normalise(self, raw: dict) -> dict:
        """Expand shorthands (``device: hbm3-6400``) into mappings, so sweep paths can reach inside them."""
        return raw

    def prepare(self, raw: dict, base_dir: Path, seed: int) -> Prepared:
        """Check and resolve one point's configuration; raise a PimsimError naming the bad key."""
        raise NotImplementedError

    def run(self, task: dict, seed: int) -> dict:
        """Run the point; return {metric name: int | float | bool | str}. Must be deterministic."""
        raise NotImplementedError


def load_kinds() -> None:
    for module in KIND_MODULES:
        importlib.import_module(module)


def kind_named(name: str, where: str | None = None) -> PointKind:
    """An instance of the kind called ``name``; an unknown name lists the valid ones."""
    load_kinds()
    return PointKind.registry.get(name, where)()


def kind_names() -> list[str]:
    load_kinds()
    return PointKind.registry.names()
