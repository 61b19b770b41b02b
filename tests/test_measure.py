import numpy as np
import pytest

from benchbed.core.errors import BenchbedError
from benchbed.measure.stats import LatencyStats
from benchbed.measure.timing import PROFILES, TimingProfile, Timings, get_profile, time_runner
from benchbed.measure.validity import judge
from benchbed.scenarios import Limits, get_scenario


def test_stats_from_raw_samples():
    samples = [float(v) for v in range(1, 101)]  # 1..100 ms
    stats = LatencyStats.from_samples(samples, batch=4)
    assert stats.count == 100 and stats.min_ms == 1 and stats.max_ms == 100
    assert stats.p50_ms == pytest.approx(np.percentile(samples, 50))
    assert stats.p99_ms == pytest.approx(np.percentile(samples, 99))
    assert stats.mean_ms == pytest.approx(50.5)
    assert stats.cov == pytest.approx(np.std(samples, ddof=1) / 50.5)
    assert stats.throughput_ips == pytest.approx(4 * 100 / (sum(samples) / 1e3))
    with pytest.raises(ValueError):
        LatencyStats.from_samples([], 1)


def test_timing_loop_meets_both_minimums_and_times_first_inference_apart():
    calls = []
    profile = TimingProfile("t", warmup_seconds=0.0, warmup_iterations=3, min_seconds=0.05, min_iterations=7,
                            max_seconds=5)
    timings = time_runner(lambda: calls.append(1), profile)
    assert timings.warmup_iterations >= 3 and len(timings.samples_ms) >= 7
    assert timings.measured_seconds >= 0.05 and not timings.capped
    assert len(calls) == 1 + timings.warmup_iterations + len(timings.samples_ms) * timings.sample_stride \
        or timings.sample_stride > 1


def test_timing_loop_cap_marks_capped():
    import time

    profile = TimingProfile("t", 0.0, 0, min_seconds=0.0, min_iterations=1000, max_seconds=0.05)
    timings = time_runner(lambda: time.sleep(0.01), profile)
    assert timings.capped and len(timings.samples_ms) < 1000


def _timings(n: int, seconds: float, capped: bool = False) -> Timings:
    return Timings(1.0, 1, 0.1, [1.0] * n, seconds, capped)


def test_validity_reasons_and_warnings():
    profile = TimingProfile("t", 0.1, 1, min_seconds=1.0, min_iterations=10, max_seconds=10)
    good = LatencyStats.from_samples([1.0] * 20, 1)
    assert judge(good, _timings(20, 1.5), profile, {"passed": True}).valid
    verdict = judge(LatencyStats.from_samples([1.0] * 5, 1), _timings(5, 0.5, capped=True), profile,
                    {"passed": False, "max_rel_error": 0.9, "tolerance": 0.5})
    assert not verdict.valid and verdict.status == "INVALID"
    text = " ".join(verdict.reasons)
    assert "too few samples" in text and "duration not reached" in text and "parity failed" in text and "cap" in text
    noisy = LatencyStats.from_samples([1.0] * 18 + [5.0, 0.3], 1)
    warn = judge(noisy, _timings(20, 1.5), profile, None,
                 {"cpu_mhz_before": 2000, "cpu_mhz_after": 2500, "foreign_cpu_cores": 0.8})
    joined = " ".join(warn.warnings)
    assert warn.valid and "CoV" in joined and "outliers" in joined and "frequency" in joined and "load" in joined


@pytest.mark.parametrize("field,value", [("min_seconds", -1.0), ("warmup_seconds", -0.1), ("min_iterations", 0),
                                         ("max_seconds", 0.1)])
def test_bad_profiles_are_rejected(field, value):
    from dataclasses import replace

    with pytest.raises(BenchbedError):
        replace(PROFILES["default"], **{field: value}).validate()
    with pytest.raises(BenchbedError):
        get_profile("forever")


def _doc(throughput: float, p50_ms: float = 1.0, status: str = "ok") -> dict:
    return {"status": status, "stats": {"throughput_ips": throughput, "p50_ms": p50_ms}}


def test_offline_doubles_until_gain_below_five_percent():
    """Documents without samples (older stores) keep the 5 % step; the noise rule is in test_contention.py."""
    offline = get_scenario("offline")
    limits = Limits(max_batch=64)
    assert offline.next_batch({}, limits) == 1
    assert offline.next_batch({1: _doc(100)}, limits) == 2
    assert offline.next_batch({1: _doc(100), 2: _doc(150)}, limits) == 4
    assert offline.next_batch({1: _doc(100), 2: _doc(150), 4: _doc(155)}, limits) is None  # +3 %
    assert offline.next_batch({1: _doc(100), 2: _doc(150)}, Limits(max_batch=2)) is None
    assert offline.next_batch({1: _doc(100, status="failed")}, limits) is None
    # a doubled batch could not reach 10 iterations within 30 s at 2 s per iteration now
    assert offline.next_batch({1: _doc(100, p50_ms=2000)}, Limits(64, max_seconds=30, min_iterations=10)) is None
    best = offline.best({1: _doc(100), 2: _doc(150), 4: _doc(140)})
    assert best["stats"]["throughput_ips"] == 150
    single = get_scenario("single-stream")
    assert single.next_batch({}, limits) == 1 and single.next_batch({1: _doc(1)}, limits) is None
    with pytest.raises(BenchbedError):
        get_scenario("server")


def test_a_microsecond_runner_keeps_at_most_twice_max_samples_evenly_thinned(monkeypatch):
    """#27 item 30: a null runner with a long duration once stored millions of samples per cell."""
    from benchbed.measure import timing

    monkeypatch.setattr(timing, "MAX_SAMPLES", 1_000)
    calls = []
    samples, seconds, capped, stride = timing.measure_loop(lambda: calls.append(1), min_seconds=0.2,
                                                           min_iterations=10, max_seconds=120)
    assert 1_000 <= len(samples) < 2_000 and stride > 1 and not capped and seconds >= 0.2  # the full time runs
    assert len(calls) // stride - 2 <= len(samples) <= len(calls) // stride + 2  # one call in stride kept
