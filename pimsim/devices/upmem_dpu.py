"""One UPMEM DPU in SimPy: tasklets sharing a revolver pipeline and one MRAM DMA engine.

The DPU's 14-stage pipeline interleaves tasklets: it issues at most one
instruction per cycle, and one tasklet at most one every ``issue_interval``
(11) cycles, because its next instruction cannot enter before the previous
one has left the stages it depends on. So with T active tasklets each runs
at ``1 / max(11, T)`` instructions per cycle: throughput grows linearly up to
11 tasklets and is flat after (PrIM Fig. 4). :class:`IssueStage` serves
compute steps that way (processor sharing).

MRAM <-> WRAM transfers go through one DMA engine per DPU, one at a time; a
transfer of s bytes holds it ``alpha + beta x s`` cycles (PrIM Sec. 3.2:
alpha ~77 cycles for reads and ~61 for writes, beta 0.5 cycles/byte), split
into pieces of at most 2,048 bytes (the SDK's ``mram_read`` limit). The
tasklet that asked waits; the others keep issuing.

A tasklet *program* is a list of segments ``(repeat, steps)``; a step is
``("compute", instructions)``, ``("read", bytes)`` or ``("write", bytes)``.
Time inside the DPU is counted in DPU cycles.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import simpy

from pimsim.core.sim import Wakeup

#: A program with more than this many steps in total is simulated at two smaller
#: scales and extrapolated linearly (its steady state is periodic).
MAX_SIMULATED_STEPS = 20_000


class IssueStage:
    """The pipeline's issue stage: processor sharing among active tasklets."""

    def __init__(self, env: simpy.Environment, issue_interval: int):
        self.env = env
        self.interval = issue_interval
        self.active: dict[simpy.Event, Fraction] = {}
        self.last = 0
        self.generation = 0
        self.instructions = 0

    def _rate(self) -> Fraction:
        return Fraction(1, max(self.interval, len(self.active)))

    def _advance(self) -> None:
        elapsed = self.env.now - self.last
        if elapsed and self.active:
            done = elapsed * self._rate()
            for ev in self.active:
                self.active[ev] -= done
        self.last = self.env.now

    def _schedule(self) -> None:
        self.generation += 1
        if not self.active:
            return
        least = min(self.active.values())
        delay = max(0, math.ceil(least / self._rate()))
        generation = self.generation
        Wakeup(self.env, delay, lambda _ev: self._wake(generation))

    def _wake(self, generation: int) -> None:
        if generation != self.generation:
            return
        self._advance()
        for ev in [ev for ev, left in self.active.items() if left <= 0]:
            del self.active[ev]
            ev.succeed()
        self._schedule()

    def run(self, instructions: int) -> simpy.Event:
        """An event that fires when one tasklet has issued ``instructions`` more instructions."""
        ev = self.env.event()
        self.instructions += instructions
        if instructions <= 0:
            ev.succeed()
            return ev
        self._advance()
        self.active[ev] = Fraction(instructions)
        self._schedule()
        return ev


@dataclasses.dataclass(frozen=True)
class DpuTiming:
    """The numbers the DPU simulation needs (from :class:`~pimsim.devices.upmem.UpmemConfig`)."""

    issue_interval: int
    read_alpha: int
    write_alpha: int
    beta: Fraction
    max_dma_bytes: int

    def dma_cycles(self, nbytes: int, write: bool) -> int:
        """Cycles the DMA engine is held to move ``nbytes`` (split at the 2 KB limit)."""
        if nbytes <= 0:
            return 0
        pieces = math.ceil(nbytes / self.max_dma_bytes)
        alpha = self.write_alpha if write else self.read_alpha
        return pieces * alpha + math.ceil(self.beta * nbytes)


@dataclasses.dataclass(frozen=True)
class KernelResult:
    """What one DPU did for one kernel."""

    cycles: int
    instructions: int
    dma_bytes: int
    tasklets: int


def _tasklet(env, program, issue: IssueStage, dma: simpy.Resource, timing: DpuTiming, moved: list):
    for repeat, steps in program:
        for _ in range(repeat):
            for kind, amount in steps:
                if kind == "compute":
                    yield issue.run(amount)
                else:
                    with dma.request() as turn:
                        yield turn
                        yield env.timeout(timing.dma_cycles(amount, kind == "write"))
                    moved[0] += amount


def _simulate(programs, timing: DpuTiming) -> KernelResult:
    env = simpy.Environment()
    issue = IssueStage(env, timing.issue_interval)
    dma = simpy.Resource(env, capacity=1)
    moved = [0]
    for program in programs:
        env.process(_tasklet(env, program, issue, dma, timing, moved))
    env.run()
    return KernelResult(int(env.now), issue.instructions, moved[0], len(programs))


def _steps(programs) -> int:
    return sum(repeat * len(steps) for program in programs for repeat, steps in program)


def _scaled(programs, scale: float):
    return [[(max(1, round(repeat * scale)) if repeat > 1 else repeat, steps) for repeat, steps in program]
            for program in programs]


def run_kernel(programs, timing: DpuTiming) -> KernelResult:
    """Cycles for tasklets running ``programs`` (one per tasklet) on one DPU.

    Long programs are simulated at two reduced repeat scales and extrapolated
    linearly to full size; instructions and bytes are then counted exactly.
    """
    total = _steps(programs)
    if total <= MAX_SIMULATED_STEPS:
        return _simulate(programs, timing)
    small = MAX_SIMULATED_STEPS / (2 * total)
    lo, hi = _simulate(_scaled(programs, small), timing), _simulate(_scaled(programs, 2 * small), timing)
    slope = (hi.cycles - lo.cycles) / small
    cycles = math.ceil(hi.cycles + slope * (1 - 2 * small))
    instructions = sum(repeat * sum(a for k, a in steps if k == "compute") for p in programs for repeat, steps in p)
    moved = sum(repeat * sum(a for k, a in steps if k != "compute") for p in programs for repeat, steps in p)
    return KernelResult(cycles, instructions, moved, len(programs))
