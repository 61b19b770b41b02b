"""Measured and published accuracy: eval transform, image folders, evaluation, tables."""
