"""Which command-line flag sets which library config field, for error messages.

The library names the field that is wrong (``ConfigError("alpha", "must be >= 1 ...")``, so a program
that calls it reads ``alpha``); the CLI prints the flag the user typed instead (``--alpha must be >= 1``).
A field not listed is the flag of the same name (``max_batch`` -> ``--max-batch``).
"""

from __future__ import annotations

from benchbed.core.errors import ConfigError

#: field -> flag, where they differ (grouped by the config they belong to)
FLAGS: dict[str, str] = {
    # networks: ScalingSpec / network_specs / grid_search
    "phis": "--phi",
    "dimension": "--mode",
    "high": "--max",
    # SweepConfig and its TimingProfile
    "precisions": "--precision",
    "scenarios": "--scenario",
    "backend_extra": "--backend-option",
    "sla_ms": "--sla-p99",
    "max_queue_delay_ms": "--max-queue-delay",
    "max_foreign_cpu": "--max-foreign-cpu",  # the contention guard's limit (cores)
    "loadgen_strict": "--strict",
    "models_dir": "--models",
    "baseline_doc": "--baseline",
    "reports_dir": "--reports",
    "warmup_seconds": "--warmup",
    "min_seconds": "--duration",
    "min_iterations": "--iterations",
    "paired_seconds": "--paired-budget",
    # analysis: compare Thresholds
    "latency": "--min-effect",
    "throughput": "--throughput-effect",
    "memory": "--memory-effect",
}

#: per command, where a field's flag differs from the one above
COMMAND_FLAGS: dict[str, dict[str, str]] = {
    "procure": {"sla_ms": "--sla"},
    "abtest": {"budget_seconds": "--budget", "burst_seconds": "--burst"},
}


def flag_for(field: str, command: str | None = None) -> str:
    """The flag that sets ``field`` (in ``command``, when a command names it differently)."""
    return COMMAND_FLAGS.get(command or "", {}).get(field) or FLAGS.get(field) or "--" + field.replace("_", "-")


def describe(error: ConfigError, command: str | None = None) -> str:
    """The error's message with flags where the library wrote field names."""
    return error.message(lambda field: flag_for(field, command))
