"""Timing profiles and loop (``timing``), statistics (``stats``), validity rules (``validity``)."""
