"""``pimsim compare``: one workload on several published designs, side by side.

:func:`compare` runs :func:`~pimsim.experiments.scenario.run_scenario` once per
placement (each on its own default system unless told otherwise) and returns
the result records; :func:`write_outputs` saves them as CSV, a results file
(HDF5, readable by ``pimsim export``/``plot``/``report``) and a bar chart.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
from pathlib import Path

from pimsim import __version__
from pimsim.core.errors import CapacityError, ConfigError, PimsimError, UnsupportedError
from pimsim.core.io import atomic_write_text
from pimsim.experiments.scenario import ScenarioSpec, check_spec, load_inputs, run_scenario_passes

DEFAULT = {"model": "llama2-70b", "placements": ("gpu", "attacc", "neupim", "cent"), "batch": 64,
           "context": 4096, "output_len": 128}
CORE_COLUMNS = ("placement", "model", "system", "batch", "context", "output_tokens", "tokens_per_s", "ttft_s",
                "tpot_s", "e2e_latency_s", "energy_per_token_J")


@dataclasses.dataclass
class Outcome:
    """A placement's record, or the reason it could not run (``passes``: kept for timelines)."""

    placement: str
    record: dict | None
    error: str = ""
    passes: tuple = ()            # (system spec, prefill, decode steps) when a timeline is wanted


@dataclasses.dataclass(frozen=True)
class CompareJob:
    """What ``pimsim compare`` runs: one workload under several placements."""

    model: str = DEFAULT["model"]
    placements: tuple = DEFAULT["placements"]
    batch: int = DEFAULT["batch"]               # 0: the largest that fits, per placement
    context: int = DEFAULT["context"]           # prompt + generated tokens
    output_len: int = DEFAULT["output_len"]
    systems: dict = dataclasses.field(default_factory=dict)      # placement -> system preset
    options: dict = dataclasses.field(default_factory=dict)      # placement -> {option: value}
    sets: dict = dataclasses.field(default_factory=dict)         # placement -> ("key.path=value", ...) on its system
    samples: int = 3
    max_positions: int | None = None
    fidelity: str | None = None                 # PIM kernels: tile or command (None: the presets')
    precision: str = "FP16"                     # weights / activations / KV cache, e.g. W4A16KV8
    mix: object = None                          # a RequestMix: serve it instead of one uniform batch
    timeline: bool = False                      # keep the passes for Chrome traces

    def spec(self, name: str) -> ScenarioSpec:
        return ScenarioSpec(model=self.model, placement=name, batch=self.batch,
                            prompt_tokens=self.context - self.output_len, output_tokens=self.output_len,
                            system=self.systems.get(name), system_sets=tuple(self.sets.get(name, ())),
                            placement_options=tuple(sorted(self.options.get(name, {}).items())),
                            decode_samples=self.samples, max_positions=self.max_positions, fidelity=self.fidelity,
                            precision=self.precision)

    @property
    def stem(self) -> str:
        model = self.model.replace("/", "_")
        if self.precision.upper() != "FP16":
            model += f"-{self.precision.upper()}"
        if self.mix is not None:
            return f"compare-{model}-mix-{Path(self.mix.source).stem}-b{self.batch or 'max'}"
        return f"compare-{model}-b{self.batch or 'max'}-c{self.context}-n{self.output_len}"


def compare(job: CompareJob, progress=None) -> list[Outcome]:
    """Run every placement; a placement that cannot run (e.g. does not fit) is reported, not fatal."""
    outcomes = []
    if job.mix is None and job.output_len >= job.context:
        raise ConfigError(f"--output-len ({job.output_len}) must be shorter than --context ({job.context}), which "
                          f"counts the prompt and the generated tokens")
    for name in job.placements:
        spec = job.spec(name)
        check_spec(spec)
        if progress:
            progress(f"simulating {name} ...")
        try:
            outcomes.append(_run_one(job, spec, progress))
        except CapacityError as exc:
            outcomes.append(Outcome(name, None, f"does not fit: {exc.one_line()}"))
        except UnsupportedError as exc:
            outcomes.append(Outcome(name, None, f"cannot run this: {exc.one_line()}"))
        except ConfigError:
            raise
        except PimsimError as exc:
            outcomes.append(Outcome(name, None, exc.one_line()))
    return outcomes


def _run_one(job: CompareJob, spec: ScenarioSpec, progress) -> Outcome:
    if job.mix is not None:
        from pimsim.experiments.serving import run_mix

        model, _, system = load_inputs(spec)
        detail = (lambda what: progress(f"  {what}")) if progress else None
        mix = run_mix(spec, job.mix, detail)
        record = {"placement": spec.placement, "model": model.name, "system": system.name,
                  "batch": mix.pop("mix_batch"), "requests_file": job.mix.source, **mix}
        return Outcome(spec.placement, record)
    record, system, prefill, steps = run_scenario_passes(spec)
    record["context"] = job.context
    return Outcome(spec.placement, record, passes=(system, prefill, steps) if job.timeline else ())


def records_json(outcomes) -> list[dict]:
    """One object per placement: the record with its breakdown (energy per token by component, each
    device's busy fraction, bytes per decode step on each link, the placement's notes), or the error."""
    renamed = {"energy_per_token_J": "energy_per_token_J_by_component",
               "link_bytes_per_step": "link_bytes_per_step_by_link"}
    out = []
    for o in outcomes:
        if o.record is None:
            out.append({"placement": o.placement, "error": o.error})
        else:
            flat = {k: v for k, v in o.record.items() if k != "breakdown"}
            for key, value in o.record.get("breakdown", {}).items():
                if key != "decode_steps":
                    flat[renamed.get(key, key)] = value
            out.append(flat)
    return out


def mix_table_text(outcomes) -> str:
    """The table of a request mix: throughput and latency percentiles per placement."""
    head = (f"{'placement':<10} {'system':<14} {'batch':>5} {'tokens/s':>10} {'TTFT p50':>9} {'TTFT p99':>9} "
            f"{'lat. p50':>9} {'lat. p99':>9} {'TPOT p50':>9} {'fit err':>8}")
    lines = [head, f"{'':<31}{'':>10} {'s':>9} {'s':>9} {'s':>9} {'s':>9} {'ms':>9}", "-" * len(head)]
    for o in outcomes:
        if o.record is None:
            lines.append(f"{o.placement:<10} {o.error}")
            continue
        r = o.record
        lines.append(f"{r['placement']:<10} {r['system']:<14} {r['batch']:>5} {r['mix_tokens_per_s']:>10.1f} "
                     f"{r['ttft_p50_s']:>9.3f} {r['ttft_p99_s']:>9.3f} {r['latency_p50_s']:>9.2f} "
                     f"{r['latency_p99_s']:>9.2f} {r['tpot_p50_s'] * 1e3:>9.2f} {100 * r['mix_fit_error']:>7.1f}%")
    return "\n".join(lines)


def table_text(outcomes) -> str:
    """The table ``pimsim compare`` prints (ratios against the first placement that ran)."""
    if any(o.record and "mix_requests" in o.record for o in outcomes):
        return mix_table_text(outcomes)
    rows = [o for o in outcomes if o.record]
    base = rows[0].record if rows else None
    head = (f"{'placement':<10} {'system':<14} {'batch':>5} {'tokens/s':>10} {'vs ' + (base['placement'] if base else ''):>9}"
            f" {'TTFT s':>8} {'TPOT ms':>8} {'mJ/token':>9} {'busiest device':>20}")
    lines = [head, "-" * len(head)]
    for o in outcomes:
        if o.record is None:
            lines.append(f"{o.placement:<10} {o.error}")
            continue
        r = o.record
        busy = {k[5:]: v for k, v in r.items() if k.startswith("busy.")}
        top = max(busy, key=busy.get) if busy else "-"
        ratio = r["tokens_per_s"] / base["tokens_per_s"] if base and base["tokens_per_s"] else 0
        energy = f"{r['energy_per_token_J'] * 1e3:>9.1f}" if r["energy_per_token_J"] is not None else f"{'-':>9}"
        lines.append(f"{r['placement']:<10} {r['system']:<14} {r['batch']:>5} {r['tokens_per_s']:>10.1f} "
                     f"{ratio:>8.2f}x {r['ttft_s']:>8.3f} {r['tpot_s'] * 1e3:>8.2f} "
                     f"{energy} {top + f' {100 * busy.get(top, 0):.0f}%':>20}")
    return "\n".join(lines)


def detail_text(record: dict, top: int = 8) -> str:
    """Where one placement's time, energy and bytes go: the breakdown of a record, for reading."""
    b = record["breakdown"]
    lines = ["", f"{record['placement']} on {record['system']}: {record['model']}, batch {record['batch']}, "
                 f"{record['prompt_tokens']} + {record['output_tokens']} tokens, {record['precision']}"]
    lines += [f"  note: {n}" for n in b["notes"]]
    lines.append("decode steps simulated (context: step time):")
    lines += [f"  {s['context']:>7}: {s['time_s'] * 1e3:10.3f} ms" for s in b["decode_steps"]]
    energy = b["energy_per_token_J"]
    total = sum(energy.values())
    if total:
        lines.append(f"energy per token, {total * 1e3:.2f} mJ:")
        lines += [f"  {k:<28} {v * 1e3:10.3f} mJ {100 * v / total:6.1f}%"
                  for k, v in sorted(energy.items(), key=lambda kv: -kv[1]) if v][:top]
    busy = sorted(b["busy_by_device"].items(), key=lambda kv: -kv[1])
    lines.append(f"busiest devices (of {len(busy)}; busy fraction of a decode step):")
    lines += [f"  {k:<28} {100 * v:9.1f}%" for k, v in busy[:top]]
    lines.append("bytes per decode step:")
    lines += [f"  {label:<28} {record[key] / 1e9:10.3f} GB" for label, key in
              (("weights", "weight_bytes_per_step"), ("KV cache", "kv_bytes_per_step"),
               ("all reads", "bytes_read_per_step"), ("over links", "link_bytes_per_step"))]
    links = sorted(b["link_bytes_per_step"].items(), key=lambda kv: -kv[1])
    if links:
        lines.append(f"busiest links (of {len(links)}):")
        lines += [f"  {k:<28} {v / 1e6:10.3f} MB" for k, v in links[:top]]
    lines.append(f"compute: {100 * record['compute_utilisation']:.2f}% of the peak FLOPs of the devices used")
    return "\n".join(lines)


def _flat(row: dict) -> dict:
    """A JSON record as one CSV row: nested breakdowns become ``<name>.<key>`` columns, notes one cell."""
    prefixes = {"energy_per_token_J_by_component": "energy_per_token_J", "busy_by_device": "busy_by_device",
                "link_bytes_per_step_by_link": "link_bytes_per_step"}
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update({f"{prefixes.get(key, key)}.{k}": v for k, v in value.items()})
        elif isinstance(value, (list, tuple)):
            out[key] = "; ".join(map(str, value))
        else:
            out[key] = value
    return out


def _csv(outcomes) -> str:
    rows = [_flat(r) for r in records_json(outcomes)]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buf.getvalue()


def _point_records(outcomes):
    from pimsim.results.record import PointRecord

    recs = []
    for o in outcomes:
        params = {"placement": o.placement}
        key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
        metrics = {} if o.record is None else {k: v for k, v in o.record.items()
                                               if isinstance(v, (int, float)) and not isinstance(v, bool)}
        metrics = {k: v for k, v in metrics.items() if not math.isnan(v)}
        config = {} if o.record is None else {k: v for k, v in o.record.items() if isinstance(v, str)}
        recs.append(PointRecord(key=key, status="ok" if o.record else "failed", kind="scenario", params=params,
                                config=config, resolved={}, seed=0, metrics=metrics, error=o.error,
                                pimsim_version=__version__))
    return recs


def write_outputs(outcomes, directory, stem: str) -> list[Path]:
    """CSV, results file and bar chart of a comparison, written atomically into ``directory``."""
    from pimsim.results.bars import bar_chart
    from pimsim.results.h5file import Header, write_results
    from pimsim.results.metrics import unit_of

    directory = Path(directory)
    paths = [atomic_write_text(directory / f"{stem}.csv", _csv(outcomes))]
    header = Header(name=stem, kind="scenario", sweep={"compare": [o.placement for o in outcomes]},
                    units={k: unit_of(k) or "" for o in outcomes if o.record for k in o.record
                           if unit_of(k) is not None}, pimsim_version=__version__)
    h5 = directory / f"{stem}.h5"
    write_results(h5, header, _point_records(outcomes), replace_all=True)
    paths.append(h5)
    ran = [o.record for o in outcomes if o.record]
    if ran and "mix_requests" in ran[0]:
        panels = (("mix_tokens_per_s", 1, "throughput (tokens/s)"), ("ttft_p99_s", 1, "TTFT, 99th pct. (s)"),
                  ("latency_p99_s", 1, "latency, 99th pct. (s)"))
        paths.extend(bar_chart(ran, directory / f"{stem}.png", panels,
                               f"{ran[0]['model']}: {ran[0]['mix_requests']} requests "
                               f"({Path(ran[0]['requests_file']).name})"))
    elif ran:
        paths.extend(bar_chart(ran, directory / f"{stem}.png"))
    for o in outcomes:
        if o.passes:
            from pimsim.experiments.timeline import write_chrome_trace

            system, _, steps = o.passes
            last = max(steps, key=lambda s: s.context)
            paths.append(write_chrome_trace(directory / f"{stem}-{o.placement}.trace.json", [last], system,
                                            {"placement": o.placement, "model": o.record["model"],
                                             "batch": o.record["batch"], "pass": f"decode step, context "
                                             f"{last.context}", "pimsim_version": __version__}))
    return paths
