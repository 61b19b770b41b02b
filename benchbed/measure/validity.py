"""VALID / INVALID with reasons, plus warnings (LoadGen's verdict, pyperf's checks, trtexec's CoV rule)."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchbed.measure.stats import LatencyStats
from benchbed.measure.timing import TimingProfile, Timings

COV_WARNING = 0.025  # trtexec: "coefficient of variance" above 2.5 % is unstable
OUTLIER_FACTOR = 2.0  # max above 2x median, or min below median / 2
FREQ_CHANGE = 0.05  # CPU frequency moved by more than 5 % during the measurement
FOREIGN_CPU = 0.10  # other processes used more than 10 % of one core on average: a warning below the limit


@dataclass
class Verdict:
    valid: bool
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "VALID" if self.valid else "INVALID"

    def to_dict(self) -> dict:
        return {"status": self.status, "reasons": self.reasons, "warnings": self.warnings}


def parity_reason(parity: dict | None) -> str | None:
    """The INVALID reason for a failed parity check, or None (passed, or not applicable)."""
    if parity is None or parity.get("passed", False):
        return None
    return (f"parity failed: max relative error {parity.get('max_rel_error', float('nan')):.2e} "
            f"> {parity.get('tolerance')}")


def contention_reason(host: dict | None, max_foreign_cpu: float | None) -> str | None:
    """The INVALID reason for a measurement other processes crowded (more cores than the limit), or None."""
    foreign = (host or {}).get("foreign_cpu_cores")
    if max_foreign_cpu is None or foreign is None or foreign <= max_foreign_cpu:
        return None
    return f"contended: other processes used {foreign:.2f} cores (limit {max_foreign_cpu:g})"


def judge(stats: LatencyStats, timings: Timings, profile: TimingProfile, parity: dict | None,
          host: dict | None = None, max_foreign_cpu: float | None = None) -> Verdict:
    """Apply the rules; ``parity`` is None where not applicable, ``host`` holds CPU frequency/load readings,
    ``max_foreign_cpu`` the cores other processes may use before the measurement is INVALID (None: no limit)."""
    reasons, warnings = [], []
    if stats.count < profile.min_iterations:
        reasons.append(f"too few samples: {stats.count} < {profile.min_iterations}")
    if timings.measured_seconds < profile.min_seconds:
        reasons.append(f"duration not reached: {timings.measured_seconds:.2f}s < {profile.min_seconds:g}s")
    if timings.capped:
        reasons.append(f"stopped at the {profile.max_seconds:g}s cap before the minimums were met")
    if parity_reason(parity):
        reasons.append(parity_reason(parity))
    if stats.cov > COV_WARNING:
        warnings.append(f"unstable: CoV {stats.cov:.1%} > {COV_WARNING:.1%}")
    if stats.max_ms > OUTLIER_FACTOR * stats.p50_ms:
        warnings.append(f"outliers: max {stats.max_ms:.3g} ms > {OUTLIER_FACTOR:g}x median {stats.p50_ms:.3g} ms")
    if stats.p50_ms > 0 and stats.min_ms < stats.p50_ms / OUTLIER_FACTOR:
        warnings.append(f"outliers: min {stats.min_ms:.3g} ms < median / {OUTLIER_FACTOR:g}")
    host = host or {}
    before, after = host.get("cpu_mhz_before"), host.get("cpu_mhz_after")
    if before and after and abs(after - before) / before > FREQ_CHANGE:
        warnings.append(f"CPU frequency changed: {before:.0f} -> {after:.0f} MHz")
    foreign, contended = host.get("foreign_cpu_cores"), contention_reason(host, max_foreign_cpu)
    if contended:
        reasons.append(contended)
    elif foreign is not None and foreign > FOREIGN_CPU:
        warnings.append(f"load changed: other processes used {foreign:.2f} cores during the measurement")
    return Verdict(not reasons, reasons, warnings)
