"""Serving a request mix: latency percentiles from simulated passes.

A request mix is a list of requests (prompt tokens, output tokens, arrival
time). It is served by continuous batching (iteration-level scheduling, as in
Orca and vLLM): before every pass, requests that have arrived are admitted in
arrival order while fewer than ``batch`` are running; a pass prefills the
prompts just admitted (each gets its first token at the end of the pass) and
decodes one token for every request already running; a request leaves after
its last token. Arrivals are all at time 0 (an offline batch) unless the mix
gives times or a Poisson rate is set.

Simulating every pass of a mix in SimPy would cost minutes per placement, so
the passes are timed by interpolating between passes that *are* simulated
(by :mod:`pimsim.experiments.pipeline`, on the placement's system):

* a decode iteration of ``n`` running requests is simulated at ``n`` in
  {1, batch/8, batch/4, batch/2, batch} and at the shortest and the longest
  context of the mix; an iteration of ``n`` requests whose mean context is
  ``c`` is interpolated linearly in ``c`` (a step's cost is affine in it) and
  piecewise linearly in ``n``;
* prefilling ``n`` prompts is simulated at the same ``n`` and at the shortest,
  middle and longest prompt, and interpolated the same way at the root mean
  square prompt length of the admitted prompts (attention grows with the
  square of the prompt);
* a pass that admits requests while others decode costs the prefill plus the
  decode iteration (the two parts run back to back);
* the interpolation is checked against a decode and a prefill pass simulated
  between the grid points (three quarters of the batch, middle context and
  prompt); the larger relative error is reported as ``mix_fit_error``.

A decode pass of a placement may produce fewer tokens than its batch (CENT's
pipeline round produces one per stage); an iteration costs the pass's time
scaled to one token per running request.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from pimsim.core.errors import CapacityError, ConfigError
from pimsim.results.metrics import metric

PERCENTILES = (50, 90, 99)
for _q in PERCENTILES:
    metric(f"ttft_p{_q}_s", "s", f"request mix: {_q}th-percentile time to first token (from arrival)")
    metric(f"latency_p{_q}_s", "s", f"request mix: {_q}th-percentile request latency (arrival to last token)")
    metric(f"tpot_p{_q}_s", "s", f"request mix: {_q}th-percentile time per output token after the first")
metric("mix_requests", "requests", "request mix: requests served")
metric("mix_tokens_per_s", "tokens/s", "request mix: output tokens / time from first arrival to last token")
metric("mix_makespan_s", "s", "request mix: time from the first arrival to the last token")
metric("mix_fit_error", "", "request mix: relative error of the interpolated pass times on two held-out passes")
metric("mix_passes", "passes", "request mix: passes (iterations) run to serve the mix")


@dataclasses.dataclass(frozen=True)
class RequestMix:
    """Requests to serve: prompt and output lengths (tokens) and arrival times (s), in arrival order."""

    prompts: tuple[int, ...]
    outputs: tuple[int, ...]
    arrivals_s: tuple[float, ...]
    source: str
    batch: int | None = None          # the most at once, when the mix file says

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def longest(self) -> int:
        return max(p + o for p, o in zip(self.prompts, self.outputs))


def load_mix(path, rate: float = 0.0, seed: int = 0) -> RequestMix:
    """A request mix from a scenario YAML (``requests:`` classes) or a CSV (``prompt_tokens,output_tokens``
    and optionally ``arrival_s``). ``rate`` > 0 draws Poisson arrivals (requests/s) with ``seed``."""
    path = Path(path)
    if rate < 0 or rate != rate:
        raise ConfigError(f"--rate must be a positive number of requests per second, got {rate}")
    if path.suffix in (".csv", ".yaml", ".yml") and not path.is_file():
        raise ConfigError("no such request-mix file", str(path))
    if path.suffix in (".yaml", ".yml") or not path.is_file():       # a file, or a scenario preset's name
        prompts, outputs, arrivals, batch = _from_scenario(path)
    elif path.suffix == ".csv":
        prompts, outputs, arrivals = _from_csv(path)
        batch = None
    else:
        raise ConfigError("a request mix is a scenario YAML (requests:) or a CSV (prompt_tokens,output_tokens"
                          "[,arrival_s])", str(path))
    if rate > 0:
        if arrivals is not None:
            raise ConfigError("the mix gives arrival times: --rate would replace them", f"{path}: arrival_s")
        gaps = np.random.default_rng(seed).exponential(1.0 / rate, len(prompts))
        arrivals = tuple(float(x) for x in np.cumsum(gaps) - gaps[0])
    arrivals = arrivals or (0.0,) * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: (arrivals[i], i))
    return RequestMix(tuple(prompts[i] for i in order), tuple(outputs[i] for i in order),
                      tuple(arrivals[i] for i in order), str(path), batch)


def _from_scenario(path: Path):
    from pimsim.trace.batching import request_queue
    from pimsim.trace.scenario import load_scenario

    scenario = load_scenario(str(path))
    if not scenario.requests:
        raise ConfigError("the scenario has no request mix (requests: [{count, prompt_tokens, output_tokens}])",
                          f"{path}: requests")
    queue = request_queue(scenario)
    return [p for p, _ in queue], [o for _, o in queue], None, scenario.batch


def _from_csv(path: Path):
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read the request mix: {exc}", str(path)) from None
    need = ("prompt_tokens", "output_tokens")
    if not rows or any(k not in rows[0] for k in need):
        raise ConfigError("needs a header with prompt_tokens and output_tokens (and optionally arrival_s) and "
                          "at least one request", str(path))
    prompts, outputs, arrivals = [], [], []
    for line, row in enumerate(rows, start=2):
        try:
            p, o = int(row["prompt_tokens"]), int(row["output_tokens"])
            a = float(row["arrival_s"]) if row.get("arrival_s") not in (None, "") else None
        except (TypeError, ValueError):
            raise ConfigError(f"not a number: {dict(row)}", f"{path}:{line}") from None
        if p < 1 or o < 1 or (a is not None and not a >= 0):
            raise ConfigError(f"prompt and output tokens must be >= 1 and arrival_s >= 0: {dict(row)}",
                              f"{path}:{line}")
        prompts.append(p)
        outputs.append(o)
        arrivals.append(a)
    given = [a is not None for a in arrivals]
    if any(given) and not all(given):
        raise ConfigError("arrival_s is given for some requests only", f"{path}: arrival_s")
    return prompts, outputs, (tuple(arrivals) if all(given) else None)


# -- the pass cost model ----------------------------------------------------------------------

def batch_grid(batch: int) -> tuple[int, ...]:
    """Batch sizes simulated for the cost model: 1, batch/8, batch/4, batch/2, batch."""
    return tuple(sorted({1, batch} | {max(1, round(batch / d)) for d in (8, 4, 2)}))


def _interp(x: float, xs, ys) -> float:
    """Piecewise-linear interpolation (linear extrapolation beyond the ends)."""
    if len(xs) == 1:
        return float(ys[0])
    k = int(np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2))
    x0, x1 = xs[k], xs[k + 1]
    return float(ys[k] + (ys[k + 1] - ys[k]) * (x - x0) / (x1 - x0))


@dataclasses.dataclass(frozen=True)
class PassCosts:
    """Seconds of a decode iteration and of a prefill, interpolated between simulated passes.

    ``decode[i][j]``: a decode iteration of ``sizes[i]`` requests at context ``contexts[j]``;
    ``prefill[i][j]``: prefilling ``sizes[i]`` prompts of ``prompts[j]`` tokens.
    """

    sizes: tuple[int, ...]
    contexts: tuple[int, ...]
    decode: tuple[tuple[float, ...], ...]
    prompts: tuple[int, ...]
    prefill: tuple[tuple[float, ...], ...]
    fit_error: float = 0.0

    @staticmethod
    def _grid(n: float, x: float, sizes, xs, table) -> float:
        along_x = [_interp(x, xs, row) for row in table]
        return max(_interp(n, sizes, along_x), 0.0)

    def decode_s(self, n: int, cached: int) -> float:
        """A decode iteration of ``n`` requests holding ``cached`` tokens in all."""
        if n == 0:
            return 0.0
        return self._grid(n, cached / n + 1, self.sizes, self.contexts, self.decode)

    def prefill_s(self, n: int, tokens: int, squares: int = 0) -> float:
        """Prefilling ``n`` prompts of ``tokens`` tokens in all (``squares``: sum of squared lengths)."""
        if n == 0:
            return 0.0
        length = (squares / n) ** 0.5 if squares else tokens / n      # attention grows with the square
        return self._grid(n, length, self.sizes, self.prompts, self.prefill)


def fit_pass_costs(model, placement, system, mix: RequestMix, batch: int, precision: str = "FP16",
                   progress=None) -> PassCosts:
    """Simulate the decode and prefill passes the cost model interpolates between, and check it on two more."""
    from pimsim.experiments.pipeline import run_decode_step, run_prefill

    def decode(n, c):
        if progress:
            progress(f"decode pass: {n} request(s) at context {c}")
        step = run_decode_step(model, placement, system, n, c, precision)
        return step.time_ps / 1e12 * n / max(step.tokens, 1)       # one token for each running request

    def prefill(n, p):
        if progress:
            progress(f"prefill pass: {n} prompt(s) of {p} tokens")
        return run_prefill(model, placement, system, n, p, precision).time_ps / 1e12

    sizes = batch_grid(batch)
    lo_c = min(mix.prompts) + 1
    hi_c = max(max(p + o - 1 for p, o in zip(mix.prompts, mix.outputs)), lo_c)
    contexts = tuple(sorted({lo_c, hi_c}))
    lo_p, hi_p = min(mix.prompts), max(mix.prompts)
    prompts = tuple(sorted({lo_p, (lo_p + hi_p) // 2, hi_p}))
    costs = PassCosts(sizes, contexts, tuple(tuple(decode(n, c) for c in contexts) for n in sizes),
                      prompts, tuple(tuple(prefill(n, p) for p in prompts) for n in sizes))
    # held out: between grid points in both directions
    n = max(1, round(0.75 * batch)) if len(sizes) > 1 else 1
    c, p = (lo_c + hi_c) // 2, (lo_p + prompts[len(prompts) // 2]) // 2 or 1
    errors = [abs(costs.decode_s(n, n * (c - 1)) / decode(n, c) - 1),
              abs(costs.prefill_s(n, n * p) / prefill(n, p) - 1)]
    return dataclasses.replace(costs, fit_error=max(errors))


# -- the scheduler ------------------------------------------------------------------------------

def schedule(mix: RequestMix, batch: int, costs: PassCosts):
    """Continuous batching of ``mix``: each request's first-token and finish times (s), and the passes run."""
    n = len(mix)
    first = np.zeros(n)
    finish = np.zeros(n)
    t = 0.0
    nxt = 0                                        # next request to arrive (the mix is in arrival order)
    running: list[list[int]] = []                  # [request, cached tokens, tokens still to generate]
    passes = 0
    while nxt < n or running:
        if nxt < n and not running and mix.arrivals_s[nxt] > t:
            t = mix.arrivals_s[nxt]                 # idle until the next arrival
        admitted = []
        while nxt < n and len(running) + len(admitted) < batch and mix.arrivals_s[nxt] <= t:
            admitted.append(nxt)
            nxt += 1
        cached = sum(r[1] for r in running)
        dt = costs.decode_s(len(running), cached)
        if admitted:
            prompts = [mix.prompts[i] for i in admitted]
            dt += costs.prefill_s(len(admitted), sum(prompts), sum(p * p for p in prompts))
        t += dt
        passes += 1
        for r in running:
            r[1] += 1
            r[2] -= 1
        for i in admitted:
            first[i] = t
            running.append([i, mix.prompts[i], mix.outputs[i] - 1])
        for r in running:
            if r[2] <= 0:
                finish[r[0]] = t
        running = [r for r in running if r[2] > 0]
    return first, finish, passes


def serve(mix: RequestMix, batch: int, costs: PassCosts) -> dict:
    """Serve ``mix`` with at most ``batch`` requests at once: latency percentiles and totals."""
    first, finish, passes = schedule(mix, batch, costs)
    n = len(mix)
    arrivals = np.asarray(mix.arrivals_s)
    outputs = np.asarray(mix.outputs)
    ttft = first - arrivals
    latency = finish - arrivals
    multi = outputs > 1
    tpot = (finish[multi] - first[multi]) / (outputs[multi] - 1)
    makespan = float(finish.max() - arrivals.min())
    record = {"mix_requests": n, "mix_makespan_s": makespan,
              "mix_tokens_per_s": float(outputs.sum() / makespan) if makespan > 0 else 0.0,
              "mix_fit_error": costs.fit_error, "mix_passes": passes}
    for q in PERCENTILES:
        record[f"ttft_p{q}_s"] = float(np.percentile(ttft, q))
        record[f"latency_p{q}_s"] = float(np.percentile(latency, q))
        record[f"tpot_p{q}_s"] = float(np.percentile(tpot, q)) if tpot.size else 0.0
    return record


def run_mix(spec, mix: RequestMix, progress=None) -> dict:
    """Serve ``mix`` on ``spec``'s placement and system: the latency record (``spec.batch`` 0: largest fit)."""
    from pimsim.experiments.scenario import largest_batch, load_inputs

    model, placement, system = load_inputs(spec)
    longest = mix.longest
    if model.max_position_embeddings and longest > model.max_position_embeddings:
        raise ConfigError(f"the mix's longest request ({longest} tokens) exceeds what {model.name} attends "
                          f"({model.max_position_embeddings}); --max-positions raises the limit", mix.source)
    batch = spec.batch or largest_batch(model, placement, system, longest, spec.precision)
    batch = min(batch, placement.max_batch(model) or batch)
    if batch < 1:
        raise CapacityError(f"not even one request of {longest} tokens of {model.name} fits {system.name} under "
                            f"placement '{spec.placement}'")
    placement.check_capacity(model, batch, longest, system, spec.precision)
    costs = fit_pass_costs(model, placement, system, mix, batch, spec.precision, progress)
    return {"mix_batch": batch, **serve(mix, batch, costs)}
