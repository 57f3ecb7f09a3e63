"""The errors pimsim raises for bad input or impossible requests.

Every error is a :class:`PimsimError`; the command line prints it as one line
(``error: <where>: <message>``) and exits non-zero, never with a traceback.
Raise the most specific subclass and name the file, key, line or value that
was wrong, so the user can fix it without reading the code.
"""

from __future__ import annotations


class PimsimError(Exception):
    """Base class: a problem with the user's input, not a bug in pimsim.

    ``where`` locates the problem (``devices/hbm3.yaml: timing_cycles.tRCD_RD``
    or ``traces/x.trace:17``); it is printed before the message.
    """

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return " ".join(text.split())


class ConfigError(PimsimError):
    """A configuration file, preset, override or option is invalid."""


class UnitError(ConfigError):
    """A quantity has no unit, an unknown unit, or a unit of the wrong kind."""


class TraceError(PimsimError):
    """A trace file or operator record is malformed."""


class CapacityError(PimsimError):
    """Data does not fit the memory or buffer it is placed in."""


class UnsupportedError(PimsimError):
    """The hardware modelled cannot run the work as asked (e.g. PIM units given 4-bit operands)."""


class SimulationError(PimsimError):
    """A simulation could not proceed (e.g. a request that can never be served)."""


class ResultsError(PimsimError):
    """A results file cannot be read or written."""


def did_you_mean(value: str, choices) -> str:
    """Return a hint listing the valid choices (closest first) for an unknown name."""
    import difflib

    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(value), choices, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{hint}; valid: {', '.join(choices)}"
