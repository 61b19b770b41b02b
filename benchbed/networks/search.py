"""Grid search for the compound coefficients (α, β, γ) under α·β²·γ² ≈ 2 (paper §3.3, step 1).

The paper scored each candidate at φ = 1 by trained ImageNet accuracy, which needs training. Here the
objective is pluggable: any function of the candidate's φ = 1 :class:`NetworkSpec` returning a score to
minimise. Built in: ``flops`` (how far the rounded network's real FLOPS multiple is from the 2× the
constraint promises) and ``latency`` (measured batch-1 p50 on a chosen backend: which way of spending
the 2× FLOPS budget costs least time on this hardware).
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Callable

from benchbed.networks.spec import EFFICIENTNET_B0, Baseline, NetworkSpec, build_spec
from benchbed.core.errors import BenchbedError, ConfigError, UnknownChoiceError
from benchbed.networks.scaling import compound, flops_ratio

Objective = Callable[[NetworkSpec], float]


#: Values per coefficient at most: the grid has this cubed candidates, each a network spec to cost.
MAX_GRID_POINTS = 60
#: Candidates an objective that measures (a worker, an export and a timed cell each) takes at most, and one
#: that only costs a spec (milliseconds each).
MAX_MEASURED_CANDIDATES = 200
MAX_COSTED_CANDIDATES = 250_000


def flops_objective(target: float = 2.0) -> Objective:
    """|actual FLOPS multiple − target|: prefers candidates whose rounding keeps the promised cost."""

    def score(spec: NetworkSpec) -> float:
        return abs(spec.summary()["actual_flops_multiple"] - target)

    return score


def latency_objective(backend: str = "onnxruntime", models_dir: str = "models", profile: str = "quick",
                      threads: int | None = None) -> Objective:
    """Measured p50 latency (ms, batch 1) of the candidate, exported and timed in a fresh worker."""
    from benchbed.backends import resolve_backend
    from benchbed.artifacts.precision import get_precision
    from benchbed.core.cell import Cell
    from benchbed.core.job import Job
    from benchbed.launchers.process import run_cell
    from benchbed.artifacts.export import PARITY_SEED, export_network
    from benchbed.measure.timing import get_profile

    chosen, _ = resolve_backend(backend)
    timing = get_profile(profile)

    def score(spec: NetworkSpec) -> float:
        artifact = export_network(spec, "fp32", models_dir)
        job = Job(Cell(spec.name, chosen, "fp32", "single-stream", 1), spec.resolution, timing.to_dict(),
                  {"threads": threads, "io_binding": True, "extra": {}},
                  parity_tolerance=get_precision("fp32").tolerance, network_info=spec.summary(),
                  artifact=str(artifact.path), reference=str(artifact.reference_path),
                  parity_seed=PARITY_SEED)
        result = run_cell(job, timeout=600)
        if result["status"] != "ok":
            raise BenchbedError(f"latency objective: measuring {spec.name} failed: {result.get('error')}")
        return float(result["stats"]["p50_ms"])

    score.measures = True  # type: ignore[attr-defined]  (grid_search bounds how many it takes)
    return score


OBJECTIVES: dict[str, Callable[..., Objective]] = {"flops": flops_objective, "latency": latency_objective}


@dataclass(frozen=True)
class Candidate:
    alpha: float
    beta: float
    gamma: float
    product: float
    score: float


def _grid(start: float, stop: float, step: float) -> list[float]:
    count = int(round((stop - start) / step))
    return [round(start + i * step, 6) for i in range(count + 1)]


def grid_search(
    objective: Objective | str = "flops",
    target: float = 2.0,
    *,
    tolerance: float = 0.05,
    step: float = 0.05,
    low: float = 1.0,
    high: float = 2.0,
    overrides: dict | None = None,
    objective_options: dict | None = None,
    baseline: str | Baseline = EFFICIENTNET_B0.name,
) -> list[Candidate]:
    """All (α, β, γ) on the grid with |α·β²·γ² − target| <= tolerance, best score first.

    ``overrides`` (width/depth/resolution) pin a coefficient of every candidate, e.g. to search on
    small inputs; ``objective_options`` go to a named objective (``latency``: backend, models_dir...);
    ``baseline`` (a registered name, a YAML path or a :class:`Baseline`) is the network scaled.
    """
    from benchbed.networks.baseline_file import resolve_baseline

    if isinstance(objective, str) and objective not in OBJECTIVES:
        raise UnknownChoiceError("objective", objective, OBJECTIVES)
    if not (math.isfinite(target) and target > 1.0):
        raise ConfigError("target", f"must be a finite number > 1 (the FLOPS multiple per step of φ), got {target:g}")
    for label, value in (("tolerance", tolerance), ("step", step)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(label, f"must be > 0, got {value:g}")
    if not (math.isfinite(high) and 1.0 <= low < high):
        raise ConfigError("high", f"must be above low, and low >= 1 (got low {low:g}, high {high:g})")
    base = resolve_baseline(baseline)
    if isinstance(objective, str):
        objective = OBJECTIVES[objective](**(objective_options or {}))
    if (high - low) / step > MAX_GRID_POINTS:  # bounded before the grid is built: points^3 candidates follow
        raise ConfigError("step", f"{step:g} makes more than {MAX_GRID_POINTS} values per coefficient between "
                          f"{low:g} and {high:g}; use a larger step or a smaller range")
    values = _grid(low, high, step)
    chosen = [(alpha, beta, gamma, flops_ratio(alpha, beta, gamma)) for alpha in values for beta in values
              for gamma in values if abs(flops_ratio(alpha, beta, gamma) - target) <= tolerance]
    limit = MAX_MEASURED_CANDIDATES if getattr(objective, "measures", False) else MAX_COSTED_CANDIDATES
    if len(chosen) > limit:  # counted before the first is costed: each measured one is a worker and seconds
        raise ConfigError("tolerance", f"{len(chosen):,} candidates are within {tolerance:g} of {target:g}, more than "
                          f"{limit:,} this objective takes; use a smaller --tolerance or a larger --step")
    found = []
    for alpha, beta, gamma, product in chosen:
        spec = build_spec(compound(1.0, alpha, beta, gamma).with_overrides(**(overrides or {})), base)
        found.append(Candidate(alpha, beta, gamma, product, float(objective(spec))))
    return sorted(found, key=lambda c: (c.score, c.alpha, c.beta, c.gamma))
