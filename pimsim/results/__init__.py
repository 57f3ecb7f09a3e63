"""Results: the metric registry, the resumable HDF5 store of a sweep, and its exports.

This is the only package that imports h5py (:mod:`~pimsim.results.h5file`) and
matplotlib (:mod:`~pimsim.results.plot`); both are imported by the modules that
need them, never here, so importing :mod:`pimsim.results.metrics` stays cheap.
"""
