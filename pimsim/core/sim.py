"""Simulated time: clock domains over SimPy's integer-picosecond clock.

``env.now`` is an integer number of picoseconds. A :class:`Clock` converts a
domain's cycles to picoseconds exactly, even when the period is fractional
(HBM3's half-clock tick is 312.5 ps: cycle k starts at floor(k * 312.5) ps).
:class:`Wakeup` runs a callback at a given time, like ``simpy.Timeout`` but
with a choice of priority, so that a frontend can act before the controllers
it feeds within the same cycle.
"""

from __future__ import annotations

from fractions import Fraction

from simpy.core import NORMAL, URGENT
from simpy.events import Event


class Clock:
    """A clock domain with period ``period_ps`` (int or Fraction)."""

    __slots__ = ("period_ps", "_num", "_den")

    def __init__(self, period_ps):
        period = Fraction(period_ps)
        if period <= 0:
            raise ValueError(f"clock period must be positive, got {period_ps}")
        self.period_ps = period
        self._num, self._den = period.numerator, period.denominator

    def ps(self, cycles: int) -> int:
        """Start of cycle ``cycles`` in integer picoseconds."""
        return cycles * self._num // self._den

    def cycles_at(self, ps: int) -> int:
        """The first cycle that starts at or after ``ps``."""
        return -((-ps * self._den) // self._num)

    @property
    def frequency_hz(self) -> float:
        return float(1e12 / self.period_ps)


class Wakeup(Event):
    """An event that fires ``delay`` ps from now and calls ``fn(event)``."""

    def __init__(self, env, delay: int, fn, urgent: bool = False):
        self.env = env
        self.callbacks = [fn]
        self._value = None
        self._ok = True
        env.schedule(self, URGENT if urgent else NORMAL, delay)
