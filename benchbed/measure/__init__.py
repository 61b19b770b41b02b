"""Measuring: timing profiles and loop (``timing``), statistics from raw samples (``stats``), validity rules
(``validity``), and what is recorded around a measurement (``trackers``). Knows no models."""
