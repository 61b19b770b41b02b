"""Paired interleaved measurement: the interval, the sequential verdict, and the coordinator's rounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import wilcoxon

from benchbed.analysis.interleave import InterleaveSettings, interleave
from benchbed.core.errors import ConfigError
from benchbed.measure.paired import Burst, _critical_rank, decide, hodges_lehmann


def test_exact_critical_rank_matches_the_signed_rank_test():
    # the interval excludes 0 exactly when the exact two-sided Wilcoxon test rejects at 1 - confidence
    rng = np.random.default_rng(3)
    for n in (8, 12, 20):
        for shift in (0.0, 0.3, 0.6, 1.0):
            values = rng.standard_normal(n) + shift
            _, low, high = hodges_lehmann(values, 0.95)
            p = wilcoxon(values, method="exact").pvalue
            assert (low > 0 or high < 0) == (p < 0.05), (n, shift, p, low, high)


def test_too_few_rounds_give_no_interval():
    assert _critical_rank(5, 0.99) is None  # 2 / 2^5 > 0.01: no interval at 99 % from 5 rounds
    assert decide([1.1] * 5, 0.05).verdict == "unknown"


@pytest.mark.parametrize("shift,verdict", [(1.10, "slower"), (0.90, "faster"), (1.0, "same")])
def test_verdicts(shift, verdict):
    rng = np.random.default_rng(1)
    ratios = shift * np.exp(rng.normal(0, 0.01, 30))
    decision = decide(ratios, 0.05)
    assert decision.verdict == verdict
    assert decision.ci_low < decision.ratio < decision.ci_high
    assert decision.smallest_detectable < 0.02


def test_a_tiny_significant_change_is_same_not_slower():
    ratios = 1.005 * np.exp(np.random.default_rng(2).normal(0, 0.001, 40))
    decision = decide(ratios, 0.05)
    assert decision.ci_low > 1.0 and decision.verdict == "same"


def test_wide_noise_stays_unknown():
    ratios = np.exp(np.random.default_rng(4).normal(0.03, 0.2, 10))
    assert decide(ratios, 0.05).verdict == "unknown"


class FakeVariant:
    """Latency ``base_ms`` x ``factor`` times a drift shared by every variant, plus its own noise."""

    def __init__(self, label, factor, clock, noise=0.01, seed=0):
        self.label, self.factor, self.clock, self.noise = label, factor, clock, noise
        self.rng = np.random.default_rng(seed)

    def burst(self, seconds, iterations):
        drift = 1 + 0.5 * np.sin(self.clock.now / 7)  # the machine slows by up to 1.5x and back
        self.clock.now += seconds
        samples = 10.0 * self.factor * drift * np.exp(self.rng.normal(0, self.noise, 20))
        return Burst(list(samples), seconds)


class FakeClock:
    now = 0.0

    def __call__(self):
        return self.now


def run(factors, settings=InterleaveSettings(budget_seconds=60), **kwargs):
    clock = FakeClock()
    foreign = kwargs.pop("foreign", None) or itertools.repeat(0.0)
    variants = [FakeVariant(f"v{i}", f, clock, seed=i, **kwargs) for i, f in enumerate(factors)]
    return interleave(variants, settings, clock=clock, pause=lambda s: None, load=lambda: lambda: next(foreign))


def test_drift_cancels_in_pairs():
    # unpaired, the same variant reads up to 1.5x apart; paired, an A/A is "same" and 10 % is "slower"
    same = run([1.0, 1.0])
    assert same.decisions["v1"].verdict == "same" and same.stopped_by == "decided"
    slower = run([1.0, 1.10])
    assert slower.decisions["v1"].verdict == "slower"
    assert 1.08 < slower.decisions["v1"].ratio < 1.12
    three = run([1.0, 0.8, 1.0])
    assert three.decisions["v1"].verdict == "faster" and three.decisions["v2"].verdict == "same"


def test_out_of_budget_is_unknown_and_says_what_it_could_see():
    result = run([1.0, 1.03], InterleaveSettings(budget_seconds=5, min_effect=0.01), noise=0.2)
    decision = result.decisions["v1"]
    assert result.stopped_by == "budget" and decision.verdict == "unknown"
    assert result.seconds >= 5 and "measured" in result.describe("v1")


def test_contended_rounds_are_redone_and_never_count():
    result = run([1.0, 1.0], InterleaveSettings(budget_seconds=6, max_foreign_cpu=0.25),
                 foreign=itertools.repeat(0.9))
    assert result.contended_rounds > 0 and result.decisions["v1"].rounds == 0
    assert result.decisions["v1"].verdict == "unknown"
    assert "contended: other processes used up to 0.90 cores" in result.notes[0]


@pytest.mark.parametrize("field,value", [("budget_seconds", 0), ("budget_seconds", float("inf")),
                                         ("min_effect", 0), ("burst_seconds", -1), ("min_rounds", 1),
                                         ("confidence", 1.0), ("max_foreign_cpu", float("nan"))])
def test_bad_settings_name_their_field(field, value):
    with pytest.raises(ConfigError) as caught:
        InterleaveSettings(**{field: value})
    assert caught.value.field == field


def test_a_wide_interval_decides_nothing_even_if_it_excludes_one():
    # eight rounds all below 1 but spread over 25 %: significant, and not narrower than the 5 % effect
    ratios = [0.76, 0.80, 0.85, 0.9, 0.95, 0.97, 0.98, 0.985]
    decision = decide(ratios, 0.05)
    assert decision.ci_high < 1 and decision.verdict == "unknown" and decision.smallest_detectable > 0.05


def test_looks_and_their_shares_of_the_error_allowance():
    from benchbed.measure.paired import look_confidence, look_rounds

    assert look_rounds(10, 60) == [10, 15, 23, 35, 53, 80]
    assert look_rounds(2, 5) == [2, 3, 5]
    for looks in range(1, 8):  # stopping early at any look, the shares spent sum to at most 1 - confidence
        spent = sum(1 - look_confidence(0.99, k) for k in range(looks - 1)) + 1 - look_confidence(0.99, looks - 1, True)
        assert spent == pytest.approx(0.01)
    assert look_confidence(0.95, 0, final=True) == pytest.approx(0.95)  # one look alone keeps the full level


def _excludes_zero_at_some_look(log_ratios, confidence, spend):
    from benchbed.measure.paired import look_confidence, look_rounds

    for k, n in enumerate(look_rounds(10, len(log_ratios))):
        if n > len(log_ratios):
            break
        level = look_confidence(confidence, k) if spend else confidence
        _, low, high = hodges_lehmann(log_ratios[:n], level)
        if low is not None and (low > 0 or high < 0):
            return True
    return False


def test_spending_keeps_repeated_looks_within_the_error_allowance():
    # no change at all, 90 % intervals, six looks: at the nominal level every look adds false alarms
    rng = np.random.default_rng(7)
    streams = rng.standard_normal((400, 80))
    nominal = np.mean([_excludes_zero_at_some_look(s, 0.90, spend=False) for s in streams])
    spent = np.mean([_excludes_zero_at_some_look(s, 0.90, spend=True) for s in streams])
    assert nominal > 0.15 and spent <= 0.10 + 0.03, (nominal, spent)


def test_a_sequential_run_stops_only_at_a_look_with_that_looks_confidence():
    from benchbed.measure.paired import look_confidence, look_rounds

    result = run([1.0, 1.0], InterleaveSettings(budget_seconds=60, min_rounds=10, confidence=0.99))
    decision = result.decisions["v1"]
    assert result.stopped_by == "decided" and decision.rounds in look_rounds(10, 100)
    look = look_rounds(10, 100).index(decision.rounds)
    assert decision.confidence == pytest.approx(look_confidence(0.99, look))
