"""single-stream and offline: benchbed's own timing loop (warm-up, then a minimum duration and count).

``single-stream`` is batch 1 (latency). ``offline`` measures batch 1, 2, 4, ... up to ``max_batch`` and
stops once throughput improves by less than 5 % over the best so far; the best batch is its answer.
Each batch is its own cell, so a resumed sweep re-derives the same decisions from stored results.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchbed.scenarios.base import Limits, MeasureContext, Measured

MIN_GAIN = 0.05


def _throughput(document: dict) -> float:
    return document["stats"]["throughput_ips"] if document.get("status") == "ok" else 0.0


class _Timed:
    """The run and the bounds every timed-loop scenario shares."""

    def timeout(self, profile, strict: bool) -> float:
        # twice the hard cap plus warm-up, and time to load the runtime and the model
        return 300.0 + 2.0 * (profile.max_seconds + max(profile.warmup_seconds, 1.0) * 2)

    def check(self, config) -> None:
        return None

    def run(self, context: MeasureContext) -> Measured:
        from benchbed.artifacts.synthetic import job_sample, synthetic_batch
        from benchbed.measure.stats import LatencyStats
        from benchbed.measure.timing import TimingProfile, time_runner
        from benchbed.measure.trackers.gpu import add_gpu_sections, open_gpu_tracker
        from benchbed.measure.trackers.host import HostReading, host_summary
        from benchbed.measure.validity import judge

        job, runner = context.job, context.runner
        batch = job.cell.batch
        profile = TimingProfile(**job.profile)
        runner.set_input(synthetic_batch(batch, job_sample(job), seed=7 + batch))
        tracker = open_gpu_tracker(runner)
        before = HostReading.now()
        try:
            timings = time_runner(runner.infer, profile, tracker.phase_hook(context.phase) if tracker else context.phase)
        except BaseException:
            if tracker:
                tracker.stop(0, 0)
            raise
        after = HostReading.now()
        count = len(timings.samples_ms)
        nvml = tracker.stop(count, count * batch) if tracker else None
        device_ms = runner.device_times_ms()[-count:] if context.backend.capabilities.device_times and count else None
        stats = LatencyStats.from_samples(timings.samples_ms, batch)
        host = host_summary(before, after)
        validity = judge(stats, timings, profile, context.parity, host).to_dict()
        timing = {"warmup_iterations": timings.warmup_iterations, "warmup_seconds": timings.warmup_seconds,
                  "measured_seconds": timings.measured_seconds, "capped": timings.capped,
                  "profile": profile.to_dict(), "clock": runner.semantics.clock,
                  "copies_included": runner.semantics.copies_included, "device": runner.semantics.device,
                  "semantics_notes": runner.semantics.notes}
        measured = Measured(validity, stats.to_dict(), timings.samples_ms, timings.first_ms, timing, host,
                            runner.device_memory())
        add_gpu_sections(measured.validity, measured.timing, measured.sections, nvml, device_ms, batch)
        return measured


@dataclass(frozen=True)
class SingleStream(_Timed):
    name: str = "single-stream"
    description: str = "batch 1, one query at a time: latency"

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        return None if 1 in done else 1

    def best(self, done: dict[int, dict]) -> dict | None:
        return done.get(1)


@dataclass(frozen=True)
class Offline(_Timed):
    name: str = "offline"
    description: str = "throughput over batch 1, 2, 4, ... until it stops improving by >= 5 %"

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        if not done:
            return 1
        batch = max(done)
        last = done[batch]
        if last.get("status") != "ok" or batch * 2 > limits.max_batch:
            return None
        # a doubled batch takes about twice as long per iteration: skip it if it could not reach the
        # minimum iteration count before the cap (it would only produce an INVALID cell)
        if 2 * last["stats"]["p50_ms"] / 1e3 * limits.min_iterations > limits.max_seconds:
            return None
        previous_best = max((_throughput(d) for b, d in done.items() if b < batch), default=0.0)
        if previous_best and _throughput(last) < previous_best * (1 + MIN_GAIN):
            return None
        return batch * 2

    def best(self, done: dict[int, dict]) -> dict | None:
        ok = [d for d in done.values() if d.get("status") == "ok"]
        return max(ok, key=_throughput) if ok else (next(iter(done.values())) if done else None)
