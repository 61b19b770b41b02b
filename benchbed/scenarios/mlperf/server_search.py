"""Find the highest Server-scenario QPS that LoadGen reports VALID under a latency SLA.

Bracketing first (double the QPS while VALID, halve it while INVALID), then bisection between the
highest VALID and the lowest INVALID load until they are within ``precision`` of each other.
A search that is INVALID even at its lowest load is reported as such ("cannot meet the SLA"),
which is an answer about the hardware, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

Trial = Callable[[float], dict]  # target QPS -> run_loadgen summary
#: A trial whose completed samples per second fall below this share of its target did not run at that load
#: (LoadGen's issue rate or the SUT could not keep up): it bounds the search like an INVALID one.
KEEP_UP = 0.9


@dataclass
class SearchResult:
    best_qps: float | None  # highest VALID target QPS, None if none was VALID
    best: dict | None  # the LoadGen summary at that load
    trials: list[dict] = field(default_factory=list)
    met_sla: bool = False
    note: str = ""


def search_max_qps(trial: Trial, start_qps: float, min_qps: float, max_qps: float, precision: float = 0.05,
                   max_trials: int = 14, service_ms: float | None = None, sla_ms: float | None = None) -> SearchResult:
    """Bracket, then bisect; every trial's summary is kept (with its target QPS) in ``trials``.

    When one unloaded inference (``service_ms``) already exceeds the SLA, no load can meet it:
    that is answered at once instead of by ever slower LoadGen runs at ever lower loads.
    """
    trials: list[dict] = []
    if service_ms is not None and sla_ms is not None and service_ms > sla_ms:
        return SearchResult(None, None, trials, False, f"cannot meet the SLA at any load: one inference takes "
                                                       f"{service_ms:.3g} ms > {sla_ms:g} ms")

    lagging: list[float] = []  # targets LoadGen could not issue: higher ones would only cost memory and time

    def run(qps: float) -> bool:
        summary = trial(qps)
        summary = dict(summary, target_qps=qps)
        trials.append(summary)
        if summary["valid"] and summary.get("throughput_sps", qps) < KEEP_UP * qps:
            lagging.append(qps)
            return False
        return bool(summary["valid"])

    low: float | None = None  # highest VALID
    high: float | None = None  # lowest INVALID
    qps = min(max(start_qps, min_qps), max_qps)
    while len(trials) < max_trials:
        if run(qps):
            low = qps
            if high is not None or qps >= max_qps:
                break
            qps = min(qps * 2, max_qps)
        else:
            high = qps
            if low is not None:
                break
            if qps <= min_qps:
                return SearchResult(None, None, trials, False,
                                    f"cannot meet the SLA even at the lowest load tried ({min_qps:g} QPS)")
            qps = max(qps / 2, min_qps)
    while low is not None and high is not None and (high - low) / low > precision and len(trials) < max_trials:
        middle = (low + high) / 2
        if run(middle):
            low = middle
        else:
            high = middle
    if low is None:
        return SearchResult(None, None, trials, False, "no VALID load found within the trial budget")
    best = max((t for t in trials if t["valid"] and t["target_qps"] == low), key=lambda t: t["throughput_sps"])
    note = (f"every load tried was VALID, up to the search's ceiling of {max_qps:.4g} QPS (--max-qps)"
            if high is None else f"between {low:.4g} (VALID) and {high:.4g} (INVALID) QPS")
    if lagging:
        note += f"; at {min(lagging):.4g} QPS the samples completed fell below {KEEP_UP:.0%} of the target"
    return SearchResult(low, best, trials, True, note)
