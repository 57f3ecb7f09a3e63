"""The sweep file: which point kind, the configuration every point starts from, and what varies.

::

    kind: trace-summary              # what one point runs (an unknown kind lists the valid ones)
    name: decode-intensity           # default: the file name
    seed: 0                          # passed to every point; recorded with it
    base:                            # the point configuration the swept values are set into
      scenario: {phase: decode, output_tokens: 1}
    grid:                            # every combination of these
      model: [llama2-7b, llama2-70b]
      scenario.batch: [1, 8, 64]
    zip:                             # lists of one length, advanced together (one more grid axis)
      scenario.context_tokens: [1024, 4096]
      scenario.prompt_tokens:  [1024, 4096]
    units: {scenario.batch: sequences}   # units of swept values, for axes and tables

A path is a dotted key into the point configuration (``device.timing_cycles.tRCD_RD``).
``zip`` may also be a list of such groups.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from pimsim.core import presets
from pimsim.core.config import build, load_yaml, param
from pimsim.core.errors import ConfigError

PATH_RE = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$")


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file."""

    kind: str = param("what one point runs, e.g. dram-replay or trace-summary")
    name: str = param("sweep name (default: the file name)", default="")
    description: str = param("one line about the sweep", default="")
    seed: int = param("seed given to every point", default=0)
    base: dict[str, Any] = param("the point configuration every point starts from", default={})
    grid: dict[str, Any] = param("config path -> list of values; every combination is a point", default={})
    zip: tuple[dict[str, Any], ...] = param("groups of config path -> list of values, advanced together",
                                            default=())
    units: dict[str, str] = param("units of swept parameters, for plots and tables", default={})

    def __post_init__(self):
        seen: dict[str, str] = {}
        for where, axes in (("grid", self.grid), *((f"zip[{i}]", g) for i, g in enumerate(self.zip))):
            for path, values in axes.items():
                _check_axis(f"{where}.{path}", path, values)
                if path in seen:
                    raise ConfigError(f"'{path}' is swept twice (also in {seen[path]})", f"{where}.{path}")
                seen[path] = where
        for i, group in enumerate(self.zip):
            lengths = {len(v) for v in group.values()}
            if len(lengths) > 1:
                raise ConfigError(f"zipped lists have different lengths {sorted(lengths)}", f"zip[{i}]")
            if not group:
                raise ConfigError("empty zip group", f"zip[{i}]")

    @property
    def axes(self) -> list[str]:
        """Every swept path, in file order."""
        return [*self.grid, *(p for g in self.zip for p in g)]

    def as_dict(self) -> dict:
        """The sweep as plain data, with ``axes`` listing the swept paths in file order."""
        return dataclasses.asdict(self) | {"zip": [dict(g) for g in self.zip], "axes": self.axes}


def _check_axis(where: str, path: str, values) -> None:
    if not PATH_RE.match(path):
        raise ConfigError(f"'{path}' is not a config path (dotted keys such as scenario.batch)", where)
    if not isinstance(values, list) or not values:
        raise ConfigError(f"expected a non-empty list of values, got {values!r:.60}", where)


def _check_text(path: Path) -> None:
    """A sweep file that is not UTF-8 text is one error (load_yaml would let the decode error escape)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not a UTF-8 text file (byte {exc.start})", str(path)) from None
    except OSError:
        pass                                 # load_yaml reports a missing or unreadable file


def load_sweep(path) -> tuple[SweepSpec, Path]:
    """Read and check a sweep file; return it with the directory its relative paths start from."""
    path = Path(path)
    _check_text(path)
    data = load_yaml(path)
    where = presets.relpath(path) + ":"
    if isinstance(data.get("zip"), dict):
        data = {**data, "zip": [data["zip"]]}
    spec = build(SweepSpec, data, where)
    from pimsim.experiments.kinds import kind_names

    if spec.kind not in kind_names():
        from pimsim.core.errors import did_you_mean

        raise ConfigError(f"unknown point kind '{spec.kind}'{did_you_mean(spec.kind, kind_names())}",
                          f"{where.rstrip(':')}: kind")
    if not spec.name:
        spec = dataclasses.replace(spec, name=path.stem)
    return spec, path.resolve().parent
