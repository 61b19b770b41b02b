"""Packaged data: the published accuracy tables (``accuracy.json``), read by ``benchbed.accuracy.tables``."""
