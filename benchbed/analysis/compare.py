"""Compare two sets of results cell by cell, with statistics that do not cry wolf.

A cell regresses only when the change is both *significant* (Mann-Whitney U on the raw samples, and a
bootstrap confidence interval of the median ratio that excludes 1) and *large* (beyond a minimum
effect, 5 % by default). Cells measured in different environments or by a different harness are
marked incomparable, naming the fields that differ, instead of being compared (pyperf, asv).
Where both sides measured the machine speed index, latency and throughput are compared relative to it
(``normalize="auto"``, analysis.normalize): a machine that got slower as a whole is not a regression.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterable

import numpy as np

from benchbed.analysis.normalize import check_normalize, index_ms, mixed_workloads, scale_runs
from benchbed.core.cell import cell_key
from benchbed.core.environment import COMPARABLE_FIELDS
from benchbed.core.errors import ConfigError
from benchbed.core.result import memory_bytes
from benchbed.measure.stats import block_medians

VERDICTS = ("slower", "more memory", "faster", "less memory", "no significant change", "incomparable",
            "new failure", "fixed", "failed", "missing", "new",
            "unknown")  # abtest: the interval could not decide within the time budget
DEFAULT_FAIL_ON = ("slower", "more memory", "new failure")


@dataclass(frozen=True)
class Thresholds:
    """Minimum effects per metric (fractions) and the significance level."""

    latency: float = 0.05
    throughput: float = 0.05
    memory: float = 0.10
    alpha: float = 0.01
    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 0
    normalize: str = "auto"  # analysis.normalize.NORMALIZE_MODES

    def __post_init__(self) -> None:
        check_normalize(self.normalize)
        for label, value in (("latency", self.latency), ("throughput", self.throughput), ("memory", self.memory)):
            if not 0 <= value < 1:
                raise ConfigError(label, f"must be a fraction in [0, 1), got {value:g}")
        if not 0 < self.alpha < 1:
            raise ConfigError("alpha", f"must be in (0, 1), got {self.alpha:g}")


@dataclass
class MetricChange:
    metric: str
    base: float
    current: float
    ratio: float  # current / base
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    verdict: str = "no significant change"
    normalized: bool = False  # ratio, CI and p of samples divided by the speed index; base/current stay raw
    raw_ratio: float | None = None  # the ratio of the raw medians, where normalized


@dataclass
class CellComparison:
    key: str
    cell: dict
    verdict: str
    reasons: list[str] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)
    normalized: bool = False  # latency and throughput compared relative to the machine speed index

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap_median_ratio(base: list[list[float]], current: list[list[float]], resamples: int, confidence: float,
                           seed: int) -> tuple[float, float]:
    """Hierarchical percentile bootstrap CI of median(current) / median(base).

    Each side is a list of runs, each run a list of block medians: runs are resampled, then blocks
    within them, so run-to-run variation widens the interval when several runs are given.
    """
    rng = np.random.default_rng(seed)

    def draw(runs: list[list[float]]) -> np.ndarray:
        out = np.empty(resamples)
        arrays = [np.asarray(r) for r in runs]
        picks = rng.integers(0, len(arrays), size=(resamples, len(arrays)))
        for i in range(resamples):
            pooled = np.concatenate([arrays[j][rng.integers(0, len(arrays[j]), len(arrays[j]))] for j in picks[i]])
            out[i] = np.median(pooled)
        return out

    ratios = draw(current) / draw(base)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def compare_samples(base: list[list[float]], current: list[list[float]], threshold: float, t: Thresholds,
                    higher_is_better: bool = False, metric: str = "latency") -> MetricChange:
    """Median ratio, bootstrap CI, Mann-Whitney p-value and the verdict for one metric.

    ``base`` and ``current`` hold one list of raw samples per run; the statistics work on time-block
    medians (see :func:`benchbed.measure.stats.block_medians`).
    """
    from scipy.stats import mannwhitneyu

    base_blocks = [block_medians(run) for run in base]
    current_blocks = [block_medians(run) for run in current]
    a = np.concatenate([np.asarray(r) for r in base_blocks])
    b = np.concatenate([np.asarray(r) for r in current_blocks])
    base_median = float(np.median(np.concatenate([np.asarray(r, dtype=float) for r in base])))
    current_median = float(np.median(np.concatenate([np.asarray(r, dtype=float) for r in current])))
    ratio = current_median / base_median
    low, high = bootstrap_median_ratio(base_blocks, current_blocks, t.resamples, t.confidence, t.seed)
    p_value = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    change = MetricChange(metric, base_median, current_median, ratio, low, high, p_value)
    significant = p_value < t.alpha and (low > 1.0 or high < 1.0)
    worse = ratio < 1 - threshold if higher_is_better else ratio > 1 + threshold
    better = ratio > 1 + threshold if higher_is_better else ratio < 1 - threshold
    if significant and worse:
        change.verdict = "slower"
    elif significant and better:
        change.verdict = "faster"
    return change


def _env_differences(base_env: dict, current_env: dict) -> list[str]:
    diffs = []
    for key in COMPARABLE_FIELDS:
        if base_env.get(key) != current_env.get(key):
            if key == "versions":
                a, b = base_env.get(key) or {}, current_env.get(key) or {}
                names = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
                diffs += [f"{n} {a.get(n)} -> {b.get(n)}" for n in names]
            else:
                diffs.append(f"{key} {base_env.get(key)} -> {current_env.get(key)}")
    return diffs


def _harness_differences(base_doc: dict, current_doc: dict) -> list[str]:
    diffs = []
    for label, path in (("timing profile", ("timing", "profile")), ("clock", ("timing", "clock")),
                        ("copies", ("timing", "copies_included")), ("backend options", ("backend", "options"))):
        a, b = base_doc, current_doc
        for part in path:
            a, b = (a or {}).get(part), (b or {}).get(part)
        if a != b:
            diffs.append(f"{label} differs")
    return diffs


def compare_cells(base: list[tuple[dict, dict]], current: list[tuple[dict, dict]], t: Thresholds = Thresholds(),
                  allow_env_mismatch: bool = False) -> list[CellComparison]:
    """Compare result documents, each given with its run's environment; one row per cell key."""
    base_by = _pool(base)
    current_by = _pool(current)
    rows = []
    for key in sorted(set(base_by) | set(current_by)):
        if key not in current_by:
            rows.append(CellComparison(key, base_by[key][0][0]["cell"], "missing", ["absent from CURRENT"]))
            continue
        if key not in base_by:
            rows.append(CellComparison(key, current_by[key][0][0]["cell"], "new", ["absent from BASE"]))
            continue
        rows.append(_compare_one(key, base_by[key], current_by[key], t, allow_env_mismatch))
    return rows


def _pool(side: list[tuple[dict, dict]]) -> dict[str, list[tuple[dict, dict]]]:
    pooled: dict[str, list[tuple[dict, dict]]] = {}
    for doc, env in side:
        pooled.setdefault(cell_key(doc["cell"]), []).append((doc, env))
    return pooled


def _compare_one(key: str, base: list[tuple[dict, dict]], current: list[tuple[dict, dict]], t: Thresholds,
                 allow_env_mismatch: bool) -> CellComparison:
    cell = base[0][0]["cell"]
    base_ok = [d for d, _ in base if d["status"] == "ok"]
    current_ok = [d for d, _ in current if d["status"] == "ok"]
    if not current_ok:
        verdict = "new failure" if base_ok else "failed"
        errors = sorted({d.get("error", "failed") for d, _ in current})
        return CellComparison(key, cell, verdict, [f"CURRENT failed: {e}" for e in errors])
    if not base_ok:
        return CellComparison(key, cell, "fixed", ["BASE failed, CURRENT measured"])
    reasons = []
    env_diffs = _env_differences(base[0][1], current[0][1])
    if env_diffs:
        reasons.append("environment differs: " + "; ".join(env_diffs))
    harness = _harness_differences(base_ok[0], current_ok[0])
    if harness:
        reasons.append("harness differs: " + "; ".join(harness))
    invalid = [side for side, docs in (("BASE", base_ok), ("CURRENT", current_ok))
               if any(d["validity"]["status"] != "VALID" for d in docs)]
    if invalid:
        reasons.append(f"INVALID result in {' and '.join(invalid)}")
    if (env_diffs and not allow_env_mismatch) or harness or invalid:
        return CellComparison(key, cell, "incomparable", reasons)

    normalize, why_raw = _normalization(base_ok, current_ok, t.normalize)
    metrics = _time_metrics([d["samples_ms"] for d in base_ok], [d["samples_ms"] for d in current_ok],
                            int(cell["batch"]), t, normalize)
    if normalize:
        base_index, current_index = float(np.median(normalize[0])), float(np.median(normalize[1]))
        reasons.append(f"latency and throughput normalized by the machine speed index (BASE {base_index:.3g} ms, "
                       f"CURRENT {current_index:.3g} ms, {(current_index / base_index - 1) * 100:+.1f}%); raw "
                       f"latency {(metrics[0].raw_ratio - 1) * 100:+.1f}%")
    elif why_raw:
        reasons.append(why_raw)
    base_mems, cur_mems = [memory_bytes(d) for d in base_ok], [memory_bytes(d) for d in current_ok]
    if None not in base_mems and None not in cur_mems:  # a side without a memory reading compares no memory
        base_mem, cur_mem = float(np.median(base_mems)), float(np.median(cur_mems))
        memory = MetricChange("memory", base_mem, cur_mem, cur_mem / base_mem if base_mem else float("nan"))
        if memory.ratio > 1 + t.memory:
            memory.verdict = "more memory"
        elif memory.ratio < 1 - t.memory:
            memory.verdict = "less memory"
        metrics.append(memory)
    found = {m.verdict for m in metrics}
    verdict = next((v for v in ("slower", "more memory", "faster", "less memory") if v in found),
                   "no significant change")
    if env_diffs:
        reasons.append("compared anyway (--allow-env-mismatch)")
    if verdict != "no significant change" and len(base_ok) == 1 and len(current_ok) == 1:
        reasons.append("one run per side: run-to-run variation not measured (see docs/ci-regression.md)")
    return CellComparison(key, cell, verdict, reasons, metrics, normalized=normalize is not None)


def _normalization(base_ok: list[dict], current_ok: list[dict],
                   mode: str) -> tuple[tuple[list[float], list[float]] | None, str]:
    """(each side's speed indices, or None to compare raw; why raw, "" when asked for by ``off`` or when
    neither side ever measured one: results from before the speed index compare as they always did)."""
    if mode == "off" or all(index_ms(d) is None for d in base_ok + current_ok):
        return None, ""
    lacking = [side for side, docs in (("BASE", base_ok), ("CURRENT", current_ok))
               if any(index_ms(d) is None for d in docs)]
    if lacking:
        return None, (f"latency not normalized: {' and '.join(lacking)} measured no machine speed index "
                      "(results from before it existed)")
    mixed = mixed_workloads([d["speed_index"] for d in base_ok + current_ok])
    if mixed:
        return None, f"latency not normalized: {mixed}"
    return ([index_ms(d) for d in base_ok], [index_ms(d) for d in current_ok]), ""


def _throughputs(runs: list[list[float]], batch: int) -> list[list[float]]:
    return [[batch * 1e3 / s for s in run if s > 0] for run in runs]


def _time_metrics(base: list[list[float]], current: list[list[float]], batch: int, t: Thresholds,
                  normalize: tuple[list[float], list[float]] | None) -> list[MetricChange]:
    """Latency and throughput from the raw samples, or from each run's samples divided by its speed index:
    then ratio, CI, p and verdict are of the normalized figures, while base and current stay the raw
    medians (what was measured) and ``raw_ratio`` keeps their ratio."""
    scaled_base, scaled_current = (scale_runs(base, normalize[0]), scale_runs(current, normalize[1])) \
        if normalize else (base, current)
    latency = compare_samples(scaled_base, scaled_current, t.latency, t, metric="latency")
    throughput = compare_samples(_throughputs(scaled_base, batch), _throughputs(scaled_current, batch),
                                 t.throughput, t, higher_is_better=True, metric="throughput")
    if normalize:
        for change, raw_base, raw_current in ((latency, base, current), (throughput, _throughputs(base, batch),
                                                                          _throughputs(current, batch))):
            change.base = float(np.median(np.concatenate([np.asarray(r, dtype=float) for r in raw_base])))
            change.current = float(np.median(np.concatenate([np.asarray(r, dtype=float) for r in raw_current])))
            change.raw_ratio, change.normalized = change.current / change.base, True
    return [latency, throughput]


def check_fail_on(verdicts: Iterable[str]) -> tuple[str, ...]:
    """The verdicts that fail a comparison, each one a known verdict (a typo would silently fail nothing)."""
    chosen = tuple(verdicts)
    unknown = [v for v in chosen if v not in VERDICTS]
    if unknown:
        raise ConfigError("fail_on", f"has unknown verdict {unknown[0]!r}; choose from {', '.join(VERDICTS)}")
    return chosen


def failing(rows: list[CellComparison], fail_on: tuple[str, ...] = DEFAULT_FAIL_ON) -> list[CellComparison]:
    return [r for r in rows if r.verdict in fail_on]
