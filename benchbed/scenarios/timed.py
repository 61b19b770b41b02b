"""single-stream and offline: benchbed's own timing loop (warm-up, then a minimum duration and count).

``single-stream`` is batch 1 (latency). ``offline`` measures batch 1, 2, 4, ... up to ``max_batch`` and
keeps doubling only while the larger batch's throughput gain is beyond noise; the largest batch that
won that way is its answer (:func:`offline_gain`). Each batch is its own cell, so a resumed sweep
re-derives the same decisions from stored results (the bootstrap behind the rule is seeded).

Both run under the contention guard (``measure.contention``): a measurement during which other
processes used more cores than the limit is taken again after a quiet wait, and is INVALID if the last
attempt was still contended.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchbed.scenarios.base import Limits, MeasureContext, Measured

#: offline: the rule for documents without enough samples to see the noise (stores from before the rule)
MIN_GAIN = 0.05
#: offline: a gain beyond noise must also be at least this large, or tiny steady gains would grow the batch forever
PRACTICAL_GAIN = 0.02
GAIN_CONFIDENCE = 0.95  # the bootstrap interval of the throughput ratio
GAIN_RESAMPLES = 2000
GAIN_SEED = 0  # seeded: the same stored samples always give the same decision
MIN_BLOCKS = 3  # block medians per side needed to see the noise (9 samples); fewer: the MIN_GAIN step


def _throughput(document: dict) -> float:
    return document["stats"]["throughput_ips"] if document.get("status") == "ok" else 0.0


@dataclass(frozen=True)
class Gain:
    """Throughput of a larger batch over a smaller one, and whether the larger one is worth keeping."""

    ratio: float
    low: float | None  # the bootstrap interval (None: decided by the MIN_GAIN step)
    high: float | None
    kept: bool
    rule: str


def _blocks(document: dict) -> list[float]:
    from benchbed.measure.stats import block_medians

    samples = [s for s in document.get("samples_ms") or [] if isinstance(s, (int, float)) and 0 < s < float("inf")]
    return block_medians(samples) if len(samples) >= 3 * MIN_BLOCKS else []


def offline_gain(base: dict, new: dict) -> Gain:
    """Is ``new`` (a larger batch) faster than ``base`` beyond noise? Both are ok result documents.

    The ratio of throughputs comes from block medians of each document's ``samples_ms``, with a seeded
    bootstrap interval: kept when the interval's lower bound is above 1 (beyond noise) and the ratio is at
    least 1 + PRACTICAL_GAIN. A document without enough samples falls back to a MIN_GAIN step on the
    stored throughput.
    """
    from benchbed.measure.stats import throughput_ratio

    base_blocks, new_blocks = _blocks(base), _blocks(new)
    if len(base_blocks) < MIN_BLOCKS or len(new_blocks) < MIN_BLOCKS:
        before = _throughput(base)
        ratio = _throughput(new) / before if before else float("inf")
        return Gain(ratio, None, None, ratio >= 1 + MIN_GAIN, f"step: gain >= {MIN_GAIN:.0%}")
    ratio, low, high = throughput_ratio(base_blocks, int(base["cell"]["batch"]), new_blocks, int(new["cell"]["batch"]),
                                        resamples=GAIN_RESAMPLES, confidence=GAIN_CONFIDENCE, seed=GAIN_SEED)
    return Gain(ratio, low, high, low > 1.0 and ratio >= 1 + PRACTICAL_GAIN,
                f"beyond noise: {GAIN_CONFIDENCE:.0%} interval above 1 and gain >= {PRACTICAL_GAIN:.0%}")


def offline_answer(done: dict[int, dict]) -> int | None:
    """The batch that answers offline: from the smallest ok batch up, a larger ok batch takes over only
    when its gain over the current answer is beyond noise (None: no ok batch)."""
    best = None
    for batch in sorted(done):
        if done[batch].get("status") == "ok" and (best is None or offline_gain(done[best], done[batch]).kept):
            best = batch
    return best


@dataclass
class _Attempt:
    """One guarded measurement: the timings, the host readings around them and the GPU readings."""

    timings: object  # measure.timing.Timings
    host: dict
    nvml: dict | None
    device_ms: list[float] | None


class _Timed:
    """The run and the bounds every timed-loop scenario shares."""

    def timeout(self, profile, strict: bool) -> float:
        from benchbed.measure.contention import MAX_REMEASURES, QUIET_WAIT_SECONDS

        # each attempt: the hard cap plus warm-up, twice over; the guard's waits; time to load runtime and model
        attempt = 2.0 * (profile.max_seconds + max(profile.warmup_seconds, 1.0) * 2)
        return 300.0 + (1 + MAX_REMEASURES) * attempt + MAX_REMEASURES * QUIET_WAIT_SECONDS

    def check(self, config) -> None:
        return None

    def run(self, context: MeasureContext) -> Measured:
        from benchbed.artifacts.synthetic import job_sample, synthetic_batch
        from benchbed.measure.contention import Guard, measure_guarded
        from benchbed.measure.stats import LatencyStats
        from benchbed.measure.timing import TimingProfile
        from benchbed.measure.trackers.gpu import add_gpu_sections
        from benchbed.measure.validity import judge

        job, runner = context.job, context.runner
        batch = job.cell.batch
        profile = TimingProfile(**job.profile)
        guard = Guard.from_dict(job.contention)
        runner.set_input(synthetic_batch(batch, job_sample(job), seed=7 + batch))
        taken, attempts = measure_guarded(lambda: self._attempt(context, profile),
                                          lambda a: a.host["foreign_cpu_cores"], guard, context.phase)
        last = taken[-1]
        timings = last.timings
        stats = LatencyStats.from_samples(timings.samples_ms, batch)
        # the guard's record: the limit, and each attempt's foreign cores and the quiet wait before it
        host = last.host | {"max_foreign_cpu": guard.max_foreign_cpu, "attempts": attempts}
        validity = judge(stats, timings, profile, context.parity, host, guard.max_foreign_cpu).to_dict()
        timing = {"warmup_iterations": timings.warmup_iterations, "warmup_seconds": timings.warmup_seconds,
                  "measured_seconds": timings.measured_seconds, "capped": timings.capped,
                  "sample_stride": timings.sample_stride,
                  "profile": profile.to_dict(), "clock": runner.semantics.clock,
                  "copies_included": runner.semantics.copies_included, "device": runner.semantics.device,
                  "semantics_notes": runner.semantics.notes}
        # the first inference after activation happened in the first attempt (later ones are warm)
        measured = Measured(validity, stats.to_dict(), timings.samples_ms, taken[0].timings.first_ms, timing, host,
                            runner.device_memory())
        add_gpu_sections(measured.validity, measured.timing, measured.sections, last.nvml, last.device_ms, batch)
        return measured

    def _attempt(self, context: MeasureContext, profile) -> _Attempt:
        """One measurement with its host and GPU readings."""
        from benchbed.measure.timing import time_runner
        from benchbed.measure.trackers.gpu import open_gpu_tracker
        from benchbed.measure.trackers.host import HostReading, host_summary

        runner, batch = context.runner, context.job.cell.batch
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
        return _Attempt(timings, host_summary(before, after), nvml, device_ms)


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
    description: str = "throughput over batch 1, 2, 4, ... while the gain is beyond noise (bootstrap, >= 2 %)"

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
        previous = offline_answer({b: d for b, d in done.items() if b < batch})
        if previous is not None and not offline_gain(done[previous], last).kept:
            return None
        return batch * 2

    def best(self, done: dict[int, dict]) -> dict | None:
        answer = offline_answer(done)
        if answer is not None:
            return done[answer]
        return next(iter(done.values())) if done else None
