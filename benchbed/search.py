"""Grid search for the compound coefficients (α, β, γ) under α·β²·γ² ≈ 2 (paper §3.3, step 1).

The paper scored each candidate at φ = 1 by trained ImageNet accuracy, which needs training. Here the
objective is pluggable: any function of the candidate's φ = 1 :class:`NetworkSpec` returning a score to
minimise. Built in: ``flops`` (how far the rounded network's real FLOPS multiple is from the 2× the
constraint promises). A measured-latency objective plugs in the same way once a backend is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from benchbed.arch.spec import NetworkSpec, build_spec
from benchbed.errors import BenchbedError
from benchbed.scaling import compound, flops_ratio

Objective = Callable[[NetworkSpec], float]


def flops_objective(target: float = 2.0) -> Objective:
    """|actual FLOPS multiple − target|: prefers candidates whose rounding keeps the promised cost."""

    def score(spec: NetworkSpec) -> float:
        return abs(spec.summary()["actual_flops_multiple"] - target)

    return score


OBJECTIVES: dict[str, Callable[[], Objective]] = {"flops": flops_objective}


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
    tolerance: float = 0.05,
    step: float = 0.05,
    low: float = 1.0,
    high: float = 2.0,
) -> list[Candidate]:
    """All (α, β, γ) on the grid with |α·β²·γ² − target| <= tolerance, best score first."""
    if tolerance <= 0 or step <= 0 or low < 1.0 or high <= low:
        raise BenchbedError("grid search needs tolerance > 0, step > 0 and 1 <= low < high")
    if isinstance(objective, str):
        if objective not in OBJECTIVES:
            raise BenchbedError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        objective = OBJECTIVES[objective]()
    values = _grid(low, high, step)
    found = []
    for alpha in values:
        for beta in values:
            for gamma in values:
                product = flops_ratio(alpha, beta, gamma)
                if abs(product - target) <= tolerance:
                    spec = build_spec(compound(1.0, alpha, beta, gamma))
                    found.append(Candidate(alpha, beta, gamma, product, float(objective(spec))))
    return sorted(found, key=lambda c: (c.score, c.alpha, c.beta, c.gamma))
