"""moebench: read moebench results files into pandas DataFrames (moebench.load) and draw the
figures of `moebench-plot` (moebench.plot). Documentation: docs/PYTHON.md.

The reader needs h5py, numpy and pandas; the figures need h5py, numpy and matplotlib. Neither
is imported until used, so `moebench-plot` works without pandas."""

__version__ = "0.1.0"
__all__ = ["load", "Results", "ResultsSet", "BadResults", "SCHEMA_VERSION"]


def __getattr__(name):  # PEP 562: import the reader (pandas) on first use
    if name in __all__:
        from . import reader
        return getattr(reader, name)
    raise AttributeError("module 'moebench' has no attribute '%s'" % name)
