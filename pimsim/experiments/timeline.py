"""Per-operator timelines of simulated passes as Chrome trace files (chrome://tracing, Perfetto).

Every operator and transfer of a pass is one complete event (``"ph": "X"``):
a process per device group (plus one for links), a thread per device (or per
``src->dst`` route), times in microseconds from the start of the pass. The
operator's kind is the event category; its layer, stream (sub-batch or
head group) and the pass are in ``args``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pimsim.core.io import atomic_write_text


def _group_of(system_spec, device: str) -> str:
    if "->" in device:
        return "links"
    for group, node in system_spec.devices.items():
        if device in node.instances or device == group:
            return group
    return device


def chrome_trace(passes, system_spec, meta: dict | None = None) -> dict:
    """The Chrome trace (JSON object format) of ``passes``: simulated passes laid end to end."""
    pids: dict[str, int] = {}
    tids: dict[str, tuple[int, int]] = {}
    events: list[dict] = []
    offset_ps = 0
    for p in passes:
        for e in sorted(p.run.events, key=lambda e: (e.start_ps, e.device)):
            group = _group_of(system_spec, e.device)
            pid = pids.setdefault(group, len(pids) + 1)
            if e.device not in tids:
                tids[e.device] = (pid, sum(1 for v in tids.values() if v[0] == pid) + 1)
            events.append({"name": e.name, "cat": e.kind, "ph": "X", "pid": pid, "tid": tids[e.device][1],
                           "ts": (offset_ps + e.start_ps) / 1e6, "dur": (e.end_ps - e.start_ps) / 1e6,
                           "args": {"layer": e.layer, "stream": e.stream,
                                    "pass": f"{p.phase} (context {p.context})"}})
        offset_ps += p.time_ps
    names = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": group}}
             for group, pid in pids.items()]
    names += [{"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": device}}
              for device, (pid, tid) in tids.items()]
    return {"traceEvents": names + events, "displayTimeUnit": "ns", "otherData": dict(meta or {})}


def write_chrome_trace(path, passes, system_spec, meta: dict | None = None) -> Path:
    """Write the Chrome trace of ``passes`` to ``path`` atomically."""
    return atomic_write_text(Path(path), json.dumps(chrome_trace(passes, system_spec, meta)))
