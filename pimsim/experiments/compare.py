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
from pimsim.core.errors import CapacityError, ConfigError, PimsimError
from pimsim.core.io import atomic_write_text
from pimsim.experiments.scenario import ScenarioSpec, check_spec, run_scenario

DEFAULT = {"model": "llama2-70b", "placements": ("gpu", "attacc", "neupim", "cent"), "batch": 64,
           "context": 4096, "output_len": 128}
CORE_COLUMNS = ("placement", "model", "system", "batch", "context", "output_tokens", "tokens_per_s", "ttft_s",
                "tpot_s", "e2e_latency_s", "energy_per_token_J")


@dataclasses.dataclass
class Outcome:
    """A placement's record, or the reason it could not run."""

    placement: str
    record: dict | None
    error: str = ""


def compare(model: str, placements, batch: int, context: int, output_len: int, systems=None, options=None,
            decode_samples: int = 3, max_positions: int | None = None, progress=None) -> list[Outcome]:
    """Run every placement; a placement that cannot run (e.g. does not fit) is reported, not fatal."""
    outcomes = []
    if output_len >= context:
        raise ConfigError(f"--output-len ({output_len}) must be shorter than --context ({context}), which counts "
                          f"the prompt and the generated tokens")
    for name in placements:
        spec = ScenarioSpec(model=model, placement=name, batch=batch, prompt_tokens=context - output_len,
                            output_tokens=output_len, system=(systems or {}).get(name),
                            placement_options=tuple(sorted((options or {}).get(name, {}).items())),
                            decode_samples=decode_samples, max_positions=max_positions)
        check_spec(spec)
        if progress:
            progress(name)
        try:
            record = run_scenario(spec)
            record["context"] = context
            outcomes.append(Outcome(name, record))
        except CapacityError as exc:
            outcomes.append(Outcome(name, None, f"does not fit: {exc.one_line()}"))
        except ConfigError:
            raise
        except PimsimError as exc:
            outcomes.append(Outcome(name, None, exc.one_line()))
    return outcomes


def records_json(outcomes) -> list[dict]:
    """One object per placement: the record (without the breakdown), or the error."""
    out = []
    for o in outcomes:
        if o.record is None:
            out.append({"placement": o.placement, "error": o.error})
        else:
            out.append({k: v for k, v in o.record.items() if k != "breakdown"}
                       | {"energy_per_token_J_by_component": o.record["breakdown"]["energy_per_token_J"]})
    return out


def table_text(outcomes) -> str:
    """The table ``pimsim compare`` prints (ratios against the first placement that ran)."""
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


def _csv(outcomes) -> str:
    rows = records_json(outcomes)
    columns = list(dict.fromkeys(k for r in rows for k in r if k != "energy_per_token_J_by_component"))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
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
    if ran:
        paths.extend(bar_chart(ran, directory / f"{stem}.png"))
    return paths
