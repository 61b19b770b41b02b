"""Measured cost against FLOPS across φ: does latency follow the 2^φ the compound formula promises?

* :func:`fit_power_law` fits latency ∝ MACs^k on log-log axes (k = 1: latency proportional to FLOPS;
  k < 1: bigger networks use the hardware better).
* :func:`phi_steps` is each step of φ: measured cost ratio beside the FLOPS ratio and the formula's 2×.
* :func:`single_vs_compound` sets networks scaled in one dimension beside the compound network of the
  same φ (the same FLOPS budget): the paper's Figure 3/4 study on the cost axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchbed.analysis.points import Point


@dataclass(frozen=True)
class PowerLawFit:
    k: float
    log_intercept: float
    r2: float
    n: int
    k_stderr: float | None

    def predict_ms(self, macs: float) -> float:
        return math.exp(self.log_intercept + self.k * math.log(macs))

    def to_dict(self) -> dict:
        return {"k": self.k, "r2": self.r2, "n": self.n, "k_stderr": self.k_stderr,
                "log_intercept": self.log_intercept}


def fit_power_law(macs: list[float], latency_ms: list[float]) -> PowerLawFit | None:
    """Least squares on log(latency) = c + k·log(MACs); None with fewer than 2 distinct sizes."""
    from scipy.stats import linregress

    pairs = [(m, v) for m, v in zip(macs, latency_ms) if m and v and m > 0 and v > 0]
    if len({m for m, _ in pairs}) < 2:
        return None
    x = np.log([m for m, _ in pairs])
    y = np.log([v for _, v in pairs])
    fit = linregress(x, y)
    stderr = float(fit.stderr) if len(pairs) > 2 else None
    return PowerLawFit(float(fit.slope), float(fit.intercept), float(fit.rvalue**2), len(pairs), stderr)


def _series_key(p: Point) -> tuple:
    return (p.hardware, p.backend, p.precision, p.scenario, p.batch)


def latency_series(points: list[Point]) -> dict[tuple, list[Point]]:
    """VALID points with MACs, grouped by (hardware, backend, precision, scenario, batch), one per network."""
    series: dict[tuple, dict[str, Point]] = {}
    for p in points:
        if p.ok and p.macs and p.p50_ms:
            series.setdefault(_series_key(p), {})[p.network] = p
    return {k: sorted(v.values(), key=lambda p: p.macs) for k, v in sorted(series.items())}


def fits(points: list[Point], modes: tuple[str, ...] = ("preset", "compound")) -> dict[tuple, PowerLawFit]:
    """The fitted exponent per series, over the networks of the given scaling modes."""
    out = {}
    for key, series in latency_series(points).items():
        chosen = [p for p in series if p.mode in modes]
        fit = fit_power_law([p.macs for p in chosen], [p.p50_ms for p in chosen])
        if fit:
            out[key] = fit
    return out


@dataclass(frozen=True)
class PhiStep:
    key: tuple
    from_network: str
    to_network: str
    phi_from: float
    phi_to: float
    flops_ratio: float
    latency_ratio: float

    @property
    def promised_ratio(self) -> float:
        """What the formula promises for this step: 2 per unit of φ."""
        return 2.0 ** (self.phi_to - self.phi_from)

    @property
    def vs_promise(self) -> float:
        """Measured latency ratio over the promised 2^Δφ (1.0: exactly as promised)."""
        return self.latency_ratio / self.promised_ratio


def phi_steps(points: list[Point], mode: str = "preset") -> list[PhiStep]:
    """Consecutive φ in each series of one scaling mode."""
    steps = []
    for key, series in latency_series(points).items():
        chosen = sorted((p for p in series if p.mode == mode and p.phi is not None), key=lambda p: p.phi)
        for a, b in zip(chosen, chosen[1:]):
            steps.append(PhiStep(key, a.network, b.network, a.phi, b.phi, b.macs / a.macs, b.p50_ms / a.p50_ms))
    return steps


@dataclass(frozen=True)
class ModeComparison:
    key: tuple
    phi: float
    mode: str
    network: str
    macs_ratio: float  # MACs / compound network's MACs (1.0: equal FLOPS)
    latency_ratio: float  # p50 / compound network's p50


def single_vs_compound(points: list[Point]) -> list[ModeComparison]:
    """Each width/depth/resolution-only network against the compound network of the same φ and series."""
    out = []
    for key, series in latency_series(points).items():
        compound = {p.phi: p for p in series if p.mode == "compound"}
        for p in series:
            base = compound.get(p.phi)
            if p.mode in ("width", "depth", "resolution") and base is not None:
                out.append(ModeComparison(key, p.phi, p.mode, p.network, p.macs / base.macs, p.p50_ms / base.p50_ms))
    return sorted(out, key=lambda c: (c.key, c.phi, c.mode))
