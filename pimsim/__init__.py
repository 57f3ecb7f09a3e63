"""pimsim: where should each transformer operator run, and what does that buy?

A discrete-event (SimPy) simulator of GPUs, NPUs, processing-in-memory and
CXL-attached memory, driven by operator traces of transformer layers.
"""

__version__ = "0.1.0"
