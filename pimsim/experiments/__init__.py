"""Experiments: sweeps of many points, each point one run of a pluggable *point kind*.

* :mod:`~pimsim.experiments.kinds` — the :class:`PointKind` extension point and its registry;
* :mod:`~pimsim.experiments.dram_point`, :mod:`~pimsim.experiments.trace_point` — built-in kinds;
* :mod:`~pimsim.experiments.sweepfile`, :mod:`~pimsim.experiments.grid` — the sweep YAML and its points;
* :mod:`~pimsim.experiments.plan` — each point resolved, checked and keyed by a hash;
* :mod:`~pimsim.experiments.executors` — where points run: Dask (local cluster or scheduler) or in-process;
* :mod:`~pimsim.experiments.driver` — ``pimsim sweep``: plan, skip finished points, run, store.
"""
