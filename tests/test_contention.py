"""Numbers that hold on a noisy shared machine (issue 14): what counts as foreign CPU, the contention guard
(measure again after a quiet wait, INVALID if still crowded), and offline's larger batch kept only when its
gain is beyond the noise."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from benchbed.core.cell import Cell
from benchbed.core.job import Job
from benchbed.measure import contention
from benchbed.measure.contention import Guard, measure_guarded, wait_for_quiet
from benchbed.measure.trackers import host
from benchbed.measure.trackers.host import HostReading

REASON = "contended: other processes used 0.98 cores (limit 0.25)"


# --- what is foreign ------------------------------------------------------------------------------------------
class _Times:
    def __init__(self, user, system, children_user=0.0, children_system=0.0):
        self.user, self.system, self.children_user, self.children_system = user, system, children_user, children_system


class _FakeProcess:
    """psutil.Process for a made-up family: pid 100 (this one), its parent 50, children 101 and 102 (gone)."""

    TABLE = {100: _Times(1.0, 0.5, 2.0, 0.0), 50: _Times(4.0, 1.0, 100.0, 50.0), 101: _Times(1.0, 0.0, 0.5, 0.0)}

    def __init__(self, pid=100):
        import psutil

        if pid not in self.TABLE and pid != 102:
            raise psutil.NoSuchProcess(pid)
        self.pid = pid

    def cpu_times(self):
        import psutil

        if self.pid == 102:
            raise psutil.NoSuchProcess(102)  # exited between listing and reading
        return self.TABLE[self.pid]

    def children(self, recursive=False):
        assert recursive, "grandchildren are the family too"
        return [_FakeProcess(101), _FakeProcess(102)]


def test_family_is_this_process_its_children_and_its_parent(monkeypatch):
    import psutil

    monkeypatch.setattr(psutil, "Process", _FakeProcess)
    monkeypatch.setattr(host.os, "getppid", lambda: 50)
    # this process with its waited-for children (3.5), the live child with its own (1.5), the parent's own
    # seconds (5) but not the parent's other, finished children (150: earlier workers)
    assert host.family_cpu_seconds() == pytest.approx(3.5 + 1.5 + 5.0)
    monkeypatch.setattr(host.os, "getppid", lambda: 1)  # orphaned: init is no family
    assert host.family_cpu_seconds() == pytest.approx(3.5 + 1.5)


def test_foreign_cores_is_machine_time_less_the_familys():
    before = HostReading(2000.0, busy=100.0, own=10.0, wall=0.0)
    after = HostReading(2000.0, busy=103.0, own=11.0, wall=2.0)  # 3 s busy, 1 s of it ours, over 2 s
    summary = host.host_summary(before, after)
    assert summary["foreign_cpu_cores"] == pytest.approx(1.0)
    assert host.foreign_cores(before, replace(after, busy=100.5)) == 0.0  # never below zero
    assert host.foreign_cores(before, replace(after, wall=0.0)) is None  # no time, no reading


def test_a_busy_child_counts_as_the_familys_not_as_foreign():
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 30\nwhile time.time() < end: pass"])
    try:
        process = psutil.Process(child.pid)
        process.cpu_times()
        before, child_before = HostReading.now(), process.cpu_times()
        import time

        time.sleep(1.0)
        child_after, after = process.cpu_times(), HostReading.now()
    finally:
        child.kill()
        child.wait()
    spun = (child_after.user + child_after.system) - (child_before.user + child_before.system)
    assert spun > 0.05, "the child got some CPU"
    assert after.own - before.own >= spun * 0.99  # its seconds are the family's, so they are not foreign


# --- the guard --------------------------------------------------------------------------------------------------
def _readings(values):
    values = list(values)
    return lambda: values.pop(0)


def test_guard_measures_again_after_a_quiet_wait():
    waits = []

    def wait(guard):
        waits.append(guard)
        return 1.5, True

    results, attempts = measure_guarded(_readings([0.98, 0.05]), lambda r: r, Guard(0.25), wait=wait)
    assert results == [0.98, 0.05] and len(waits) == 1
    assert attempts == [{"foreign_cpu_cores": 0.98, "waited_seconds": 0.0, "quiet_found": None},
                        {"foreign_cpu_cores": 0.05, "waited_seconds": 1.5, "quiet_found": True}]


def test_guard_gives_up_after_its_remeasures():
    results, attempts = measure_guarded(_readings([0.98] * 5), lambda r: r, Guard(0.25, remeasures=2),
                                        wait=lambda g: (20.0, False))
    assert results == [0.98] * 3 and [a["quiet_found"] for a in attempts] == [None, False, False]
    results, _ = measure_guarded(_readings([0.3]), lambda r: r, Guard(0.5))
    assert results == [0.3]  # under the limit: measured once
    results, _ = measure_guarded(_readings([None]), lambda r: r, Guard(0.0))
    assert results == [None]  # no reading (no time passed) is no evidence of contention


def test_wait_for_quiet_polls_windows_until_one_is_quiet_or_the_cap(monkeypatch):
    now = [0.0]
    loads = [0.9, 0.8, 0.1]

    def load(seconds):
        now[0] += seconds
        return loads.pop(0)

    monkeypatch.setattr(host, "foreign_load", load)
    assert wait_for_quiet(Guard(0.25, window_seconds=0.5, wait_seconds=20), clock=lambda: now[0]) == (1.5, True)
    now[0], loads[:] = 0.0, [0.9] * 100
    waited, quiet = wait_for_quiet(Guard(0.25, window_seconds=0.5, wait_seconds=2), clock=lambda: now[0])
    assert not quiet and waited == 2.0 and len(loads) == 96  # bounded by the cap, window by window


def _cell(monkeypatch, foreign, quiet_loads=(0.0,), remeasures=2):
    """A single-stream cell on the null runner, measured in this process with made-up foreign readings."""
    from benchbed.backends.null import NullBackend, NullRunner
    from benchbed.measure.timing import TimingProfile
    from benchbed.scenarios import MeasureContext, get_scenario

    foreign, loads = list(foreign), list(quiet_loads)
    real_summary = host.host_summary
    monkeypatch.setattr(host, "host_summary", lambda before, after: real_summary(before, after)
                        | {"foreign_cpu_cores": foreign.pop(0)})
    monkeypatch.setattr(host, "foreign_load", lambda seconds: loads.pop(0) if len(loads) > 1 else loads[0])
    profile = TimingProfile("t", 0.0, 0, 0.01, 5, 5.0)
    guard = Guard(0.25, remeasures=remeasures, window_seconds=0.01, wait_seconds=0.05)
    job = Job(Cell("n", "null", "fp32", "single-stream", 1), 8, profile.to_dict(),
              {"threads": 1, "io_binding": True, "extra": {}}, contention=guard.to_dict())
    measured = get_scenario("single-stream").run(MeasureContext(job, NullBackend(), NullRunner(), None, lambda p: None))
    assert not foreign, "every reading was used"
    return measured


def test_contended_then_quiet_is_valid_after_one_remeasure(monkeypatch):
    measured = _cell(monkeypatch, [0.98, 0.02])
    assert measured.validity["status"] == "VALID", measured.validity
    assert measured.host["foreign_cpu_cores"] == 0.02 and measured.host["max_foreign_cpu"] == 0.25
    attempts = measured.host["attempts"]
    assert [a["foreign_cpu_cores"] for a in attempts] == [0.98, 0.02] and attempts[1]["quiet_found"] is True
    assert measured.first_inference_ms is not None


def test_always_contended_is_invalid_never_valid(monkeypatch):
    measured = _cell(monkeypatch, [0.98, 0.98, 0.98], quiet_loads=(0.9,))
    assert measured.validity["status"] == "INVALID" and REASON in measured.validity["reasons"]
    assert [a["quiet_found"] for a in measured.host["attempts"]] == [None, False, False]


def test_judge_refuses_above_the_limit_and_warns_below_it():
    from benchbed.measure.stats import LatencyStats
    from benchbed.measure.timing import TimingProfile, Timings
    from benchbed.measure.validity import judge

    profile = TimingProfile("t", 0.0, 0, 0.1, 5, 1.0)
    stats, timings = LatencyStats.from_samples([1.0] * 10, 1), Timings(1.0, 0, 0.0, [1.0] * 10, 0.2, False)
    crowded = judge(stats, timings, profile, None, {"foreign_cpu_cores": 0.98}, max_foreign_cpu=0.25)
    assert not crowded.valid and crowded.reasons == [REASON]
    light = judge(stats, timings, profile, None, {"foreign_cpu_cores": 0.2}, max_foreign_cpu=0.25)
    assert light.valid and any("load changed" in w for w in light.warnings)  # the 0.10-core warning stays
    assert judge(stats, timings, profile, None, {"foreign_cpu_cores": 0.05}, max_foreign_cpu=0.25).warnings == []


def test_mlperf_cells_are_invalid_when_contended():
    """LoadGen runs are not repeated (minutes each under --strict), but a crowded one is not VALID."""
    from benchbed.backends.null import NullRunner
    from benchbed.scenarios import MeasureContext, get_scenario

    summary = {"valid": True, "reasons": [], "percentiles_ms": {f"p{p}_ms": 1.0 for p in (50, 90, 95, 99)},
               "mean_ms": 1.0, "min_ms": 1.0, "max_ms": 1.0, "query_count": 10, "throughput_sps": 100.0,
               "wall_seconds": 1.0, "sut_latencies_ms": [1.0] * 10}
    job = Job(Cell("n", "null", "fp32", "mlperf-singlestream", 1), 8, {}, {}, contention=Guard(0.25).to_dict())
    scenario = get_scenario("mlperf-singlestream")
    context = MeasureContext(job, None, NullRunner(), None, lambda p: None)

    def measured(foreign):
        loadgen = {"summary": dict(summary), "options": {}, "probe_ms": {"batch1": 1.0}}
        return scenario._measured(context, loadgen, {"foreign_cpu_cores": foreign}, None)

    crowded = measured(0.98)
    assert crowded.validity["status"] == "INVALID" and crowded.validity["reasons"] == [REASON]
    assert crowded.host["max_foreign_cpu"] == 0.25
    assert measured(0.1).validity["status"] == "VALID"


# --- the config, the job and the flag ---------------------------------------------------------------------------
def _config(**changes):
    from benchbed.measure.timing import get_profile
    from benchbed.sweep import SweepConfig

    return SweepConfig(**{**dict(phis=[0.0], mode="preset", alpha=1.2, beta=1.1, gamma=1.15,
                                 overrides={"width": 0.25, "depth": 0.34, "resolution": 32}, backend="null",
                                 precisions=["fp32"], scenarios=["single-stream"], profile=get_profile("quick"),
                                 max_batch=1), **changes})


def test_limit_is_in_the_sweep_identity_only_when_not_the_default(monkeypatch):
    monkeypatch.delenv(contention.ENV_LIMIT, raising=False)
    default = _config()
    assert default.max_foreign_cpu == 0.25 and "max_foreign_cpu" not in default.identity()  # older runs resume
    assert _config(max_foreign_cpu=1.0).sha() != default.sha()
    monkeypatch.setenv(contention.ENV_LIMIT, "1.5")  # a shared box's default
    assert _config().max_foreign_cpu == 1.5 and _config().identity()["max_foreign_cpu"] == 1.5
    assert _config(max_foreign_cpu=0.1).max_foreign_cpu == 0.1  # a given limit wins


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_bad_limits_name_their_field(value):
    from benchbed.core.errors import ConfigError
    from benchbed.sweep import validate_config

    with pytest.raises(ConfigError, match="max_foreign_cpu must be a finite number of cores >= 0"):
        validate_config(_config(max_foreign_cpu=value))


def test_bad_environment_limit_is_one_error(monkeypatch):
    from benchbed.core.errors import BenchbedError

    monkeypatch.setenv(contention.ENV_LIMIT, "lots")
    with pytest.raises(BenchbedError, match="BENCHBED_MAX_FOREIGN_CPU='lots'"):
        _config()


def test_the_job_carries_the_limit_and_old_jobs_still_load(monkeypatch, tiny_spec):
    from benchbed.sweep.plan import make_job

    monkeypatch.setattr(contention, "QUIET_WAIT_SECONDS", 3.0)
    config = _config(max_foreign_cpu=0.7)
    job = make_job(config, tiny_spec, "fp32", Cell(tiny_spec.name, "null", "fp32", "single-stream", 1), "r", 0)
    loaded = Job.from_json(json.loads(json.dumps(job.to_json())))
    assert Guard.from_dict(loaded.contention) == Guard(0.7, contention.MAX_REMEASURES,
                                                       contention.QUIET_WINDOW_SECONDS, 3.0)
    old = job.to_json()
    del old["contention"]  # a job written before the guard
    monkeypatch.delenv(contention.ENV_LIMIT, raising=False)
    assert Guard.from_dict(Job.from_json(old).contention).max_foreign_cpu == 0.25


# --- end to end: a real worker on a crowded machine ---------------------------------------------------------------
def test_a_cell_measured_while_the_cores_are_busy_is_invalid(tmp_path):
    """Two busy loops on the cores: the real worker measures, waits (briefly here) for quiet, measures again,
    and refuses the last attempt as contended instead of storing a slow number as VALID."""
    from benchbed.launchers.process import run_cell
    from benchbed.measure.timing import TimingProfile

    artifact = tmp_path / "none.onnx"
    artifact.write_bytes(b"")
    guard = Guard(0.25, remeasures=2, window_seconds=0.2, wait_seconds=0.4)
    job = Job(Cell("n", "null", "fp32", "single-stream", 1), 16, TimingProfile("t", 0.05, 1, 0.2, 5, 5.0).to_dict(),
              {"threads": 1, "io_binding": True, "extra": {}}, network_info={"phi": 0}, artifact=str(artifact),
              parity_seed=0, contention=guard.to_dict())
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        doc = run_cell(job, timeout=120)
    finally:
        for loop in busy:
            loop.kill()
            loop.wait()
    assert doc["status"] == "ok", doc.get("error")
    assert doc["validity"]["status"] == "INVALID", doc["validity"]
    assert any(r.startswith("contended: other processes used") for r in doc["validity"]["reasons"])
    attempts = doc["host"]["attempts"]
    assert len(attempts) == 3 and all(a["foreign_cpu_cores"] > 0.25 for a in attempts), attempts
    assert all(a["waited_seconds"] >= 0.4 and a["quiet_found"] is False for a in attempts[1:]), attempts


# --- offline: a larger batch only for a gain beyond the noise ---------------------------------------------------
LEVELS = [0.7, 1.3, 0.8, 1.2, 0.9, 1.1, 1.0, 0.75, 1.25, 1.05]  # a machine drifting by ±30 % between blocks


def _doc(batch, samples):
    samples = [float(s) for s in samples]
    return {"status": "ok", "cell": {"batch": batch}, "samples_ms": samples,
            "stats": {"throughput_ips": batch * len(samples) / (sum(samples) / 1e3), "p50_ms": float(np.median(samples))}}


def _drifting(per_image_ms, batch, levels=LEVELS):
    return _doc(batch, [per_image_ms * batch * level for level in levels for _ in range(20)])


def _tight(per_image_ms, batch):
    return _doc(batch, [per_image_ms * batch * (1 + 0.002 * np.sin(i)) for i in range(200)])


def test_a_six_percent_gain_inside_wide_noise_stops_the_doubling():
    from benchbed.scenarios import Limits, get_scenario
    from benchbed.scenarios.timed import MIN_GAIN, offline_gain

    one, two = _drifting(10.0, 1), _drifting(10.0 / 1.06, 2, LEVELS[::-1])
    gain = offline_gain(one, two)
    assert gain.ratio == pytest.approx(1.06) and gain.ratio > 1 + MIN_GAIN  # the old step would have doubled
    assert gain.low < 1.0 < gain.high and not gain.kept
    offline = get_scenario("offline")
    assert offline.next_batch({1: one, 2: two}, Limits(64)) is None
    assert offline.best({1: one, 2: two}) is one


def test_a_clear_gain_with_tight_samples_keeps_doubling():
    from benchbed.scenarios import Limits, get_scenario
    from benchbed.scenarios.timed import offline_gain

    one, two = _tight(10.0, 1), _tight(10.0 / 1.4, 2)
    gain = offline_gain(one, two)
    assert gain.ratio == pytest.approx(1.4, rel=1e-3) and gain.low > 1.3 and gain.kept
    offline = get_scenario("offline")
    assert offline.next_batch({1: one, 2: two}, Limits(64)) == 4
    # a steady 1 % more is beyond noise but below the practical floor: batch 2 stays the answer
    four = _tight(10.0 / 1.4 / 1.01, 4)
    assert offline_gain(two, four).low > 1.0 and not offline_gain(two, four).kept
    assert offline.next_batch({1: one, 2: two, 4: four}, Limits(64)) is None
    assert offline.best({1: one, 2: two, 4: four}) is two


def test_a_resumed_sweep_re_derives_the_same_decision():
    from benchbed.scenarios import Limits, get_scenario
    from benchbed.scenarios.timed import offline_gain

    done = {1: _tight(10.0, 1), 2: _tight(10.0 / 1.4, 2), 4: _drifting(10.0 / 1.4 / 1.08, 4)}
    stored = {b: json.loads(json.dumps(d)) for b, d in done.items()}  # as a resumed sweep reads them back
    offline = get_scenario("offline")
    assert offline_gain(done[2], done[4]) == offline_gain(stored[2], stored[4])  # the same interval, to the bit
    assert offline.next_batch(stored, Limits(64)) == offline.next_batch(done, Limits(64))
    assert offline.best(stored)["cell"]["batch"] == offline.best(done)["cell"]["batch"] == 2


def test_documents_without_samples_keep_the_five_percent_step():
    from benchbed.scenarios import Limits, get_scenario

    def bare(batch, throughput):
        return {"status": "ok", "cell": {"batch": batch}, "stats": {"throughput_ips": throughput, "p50_ms": 1.0}}

    offline = get_scenario("offline")
    assert offline.next_batch({1: bare(1, 100), 2: bare(2, 106)}, Limits(64)) == 4
    assert offline.next_batch({1: bare(1, 100), 2: bare(2, 104)}, Limits(64)) is None
    # a sampled batch beside an old one without samples is judged by the step too
    assert offline.next_batch({1: bare(1, 100), 2: _tight(10.0 / 1.4, 2) | {"stats": {"throughput_ips": 140,
                                                                                     "p50_ms": 1.0}}},
                              Limits(64)) == 4
