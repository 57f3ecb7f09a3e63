"""How long trace generation takes: a full Llama-2-70B request, prompt 2048 + output 2048, per-step ops.

Run: ``python benchmarks/traces.py [--repeat N]``. Prints the best and median
wall time of each case (measures; asserts nothing). The first case is the
figure the trace README quotes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pimsim.trace import Scenario, generate, load_model, read_trace, write_trace
from pimsim.trace.scenario import Speculative


def timed(fn, repeat: int) -> tuple[float, float, float, object]:
    """First (cold: fresh memory, caches), best and median wall time of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times[0], min(times), statistics.median(times), result


def cases():
    llama70 = load_model("llama2-70b")
    full = Scenario(phase="both", batch=1, prompt_tokens=2048, output_tokens=2048)
    yield "llama2-70b, 1 request, 2048 + 2048 tokens", lambda: generate(llama70, full)
    yield "llama2-70b, batch 32, 2048 + 2048, TP 8", lambda: generate(
        llama70, Scenario(phase="both", batch=32, prompt_tokens=2048, output_tokens=2048, tensor_parallel=8))
    yield "mixtral-8x7b, batch 8, 1024 + 1024, uniform routing", lambda: generate(
        "mixtral-8x7b", Scenario(phase="both", batch=8, prompt_tokens=1024, output_tokens=1024))
    spec = Speculative(draft="llama3.2-1b", tokens=4, acceptance_rate=0.7)
    yield "llama3-70b + llama3.2-1b draft, 2048 + 2048", lambda: generate(
        "llama3-70b", Scenario(phase="both", prompt_tokens=2048, output_tokens=2048, speculative=spec))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'case':<54} {'operators':>10} {'first':>8} {'best':>8} {'median':>8}")
    first_table = None
    for label, fn in cases():
        first, best, median, table = timed(fn, args.repeat)
        first_table = first_table or table
        print(f"{label:<54} {len(table):>10} {first:>7.3f}s {best:>7.3f}s {median:>7.3f}s")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.h5"
        for label, fn in (("write the first trace to HDF5", lambda: write_trace(first_table, path)),
                          ("read it back (with validation)", lambda: read_trace(path))):
            first, best, median, _ = timed(fn, 3)
            print(f"{label:<54} {len(first_table):>10} {first:>7.3f}s {best:>7.3f}s {median:>7.3f}s")


if __name__ == "__main__":
    main()
