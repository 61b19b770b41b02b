"""A sweep: its config, its plan of cells, running them through a launcher, and the store they land in."""

from benchbed.sweep.run import SweepConfig, check_precisions, open_run, run_sweep, validate_config
from benchbed.sweep.store import Store, write_results_json

__all__ = ["SweepConfig", "Store", "check_precisions", "open_run", "run_sweep", "validate_config",
           "write_results_json"]
