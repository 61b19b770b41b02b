"""Analyses of stored results: comparisons between runs (``compare``), trends over runs (``history``)."""
