"""NVML tracker: GPU memory, power, SM clock and clock-event (throttle) reasons sampled in a background
thread during the measurement, and energy per inference from the total-energy counter.

Energy = difference of ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded) between the
start of the measured phase and the end, divided by the inferences in between. Not integrated from
``nvmlDeviceGetPowerUsage``: on Ampere and newer (except GA100) that is a 1-second average, too coarse for
short runs. A drop of the SM clock, or a slowdown reason (power cap, thermal, power brake), is a warning on
the result: the figures may not be the GPU's steady performance.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator

#: clock-event reasons that mean the GPU slowed itself down (idle / application clocks do not)
SLOWDOWN = {"SwPowerCap": 0x4, "HwSlowdown": 0x8, "SwThermalSlowdown": 0x20, "HwThermalSlowdown": 0x40,
            "HwPowerBrakeSlowdown": 0x80}
REASONS = {"GpuIdle": 0x1, "ApplicationsClocksSetting": 0x2, "SyncBoost": 0x10, "DisplayClockSetting": 0x100,
           **SLOWDOWN}
CLOCK_DROP = 0.10  # SM clock fell by more than 10 % from its highest sample


def nvml_init() -> Any:
    """``pynvml``, initialised: one way to start NVML for the GPU probe (backends.gpu_presence) and this tracker.

    Raises ImportError when nvidia-ml-py is not installed, else NVML's own error (no driver, no library).
    Every successful call must be paired with ``nvmlShutdown`` (NVML counts them); :func:`nvml_session` does."""
    import pynvml

    pynvml.nvmlInit()
    return pynvml


@contextlib.contextmanager
def nvml_session() -> Iterator[Any]:
    """``with nvml_session() as nvml:`` -- initialised pynvml, shut down on leaving (raises as :func:`nvml_init`)."""
    nvml = nvml_init()
    try:
        yield nvml
    finally:
        nvml.nvmlShutdown()


def reason_names(mask: int) -> list[str]:
    return [name for name, bit in sorted(REASONS.items(), key=lambda kv: kv[1]) if mask & bit]


class NvmlTracker:
    """``start()`` before warm-up, ``mark()`` when the measured phase begins, ``stop(n)`` after it."""

    def __init__(self, nvml: Any, device_index: int = 0, interval_s: float = 0.05) -> None:
        self._nvml, self._interval = nvml, interval_s
        self._handle = nvml_handle(nvml, device_index)
        self._mark_index = 0
        self._samples: list[dict] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._energy_start: int | None = None
        self._energy_note = ""
        self._reasons_fn = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(
            nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None)  # older nvidia-ml-py: the old name

    @classmethod
    def open(cls, device_index: int = 0, interval_s: float = 0.05) -> "NvmlTracker | None":
        """A started tracker, or None when NVML is not available here (no pynvml, no driver)."""
        try:
            pynvml = nvml_init()
        except Exception:
            return None
        try:
            tracker = cls(pynvml, device_index, interval_s)
        except Exception:
            pynvml.nvmlShutdown()
            return None
        tracker.start()
        return tracker

    def _energy(self) -> int | None:
        try:
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        except Exception as exc:  # NotSupported before Volta
            self._energy_note = f"total energy counter unavailable: {exc}"
            return None

    def _sample(self) -> dict:
        nvml, h = self._nvml, self._handle
        sample: dict = {"t": time.perf_counter()}
        for key, read in (("memory_used_bytes", lambda: nvml.nvmlDeviceGetMemoryInfo(h).used),
                          ("power_w", lambda: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),
                          ("sm_clock_mhz", lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM)),
                          ("reasons", lambda: self._reasons_fn(h) if self._reasons_fn else None)):
            try:
                sample[key] = read()
            except Exception:
                sample[key] = None
        return sample

    def _run(self) -> None:
        while not self._stop.is_set():
            self._samples.append(self._sample())
            self._stop.wait(self._interval)

    def start(self) -> None:
        self._samples.append(self._sample())
        self._thread = threading.Thread(target=self._run, name="benchbed-nvml", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        """The measured phase starts now: energy, clocks and reasons are summarised from here (the idle
        sample before warm-up would otherwise read as a clock drop)."""
        self._energy_start = self._energy()
        self._mark_index = len(self._samples)
        self._samples.append(self._sample())

    def phase_hook(self, phase: Callable[[str], None]) -> Callable[[str], None]:
        """Wrap the worker's phase announcer so that entering "measure" calls :meth:`mark`."""
        def hooked(name: str) -> None:
            if name == "measure":
                self.mark()
            phase(name)
        return hooked

    def stop(self, inferences: int, images: int) -> dict:
        """Stop sampling, shut NVML down, and summarise (energy per inference over the measured phase)."""
        energy_end = self._energy() if self._energy_start is not None else None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._samples.append(self._sample())
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass
        return summarise(self._samples[self._mark_index:], self._energy_start, energy_end, inferences, images,
                         self._energy_note)


def _largest_drop(clocks: list[float]) -> tuple[float, float | None]:
    """(earlier clock, later clock) of the largest fall in time order: a ramp up is not a drop."""
    peak, best = None, (0.0, None)
    for clock in clocks:
        peak = clock if peak is None else max(peak, clock)
        if peak and (best[1] is None or clock / peak < best[1] / best[0]):
            best = (peak, clock)
    return best


def nvml_handle(nvml: Any, cuda_index: int) -> Any:
    """The NVML handle of CUDA device ``cuda_index`` as this process sees it.

    NVML ignores CUDA_VISIBLE_DEVICES (Ray sets it for ``num_gpus=1``) and counts in PCI bus order, so
    the visible device list is resolved here (indices or GPU-/MIG- UUIDs); the worker sets
    CUDA_DEVICE_ORDER=PCI_BUS_ID so that CUDA's own numbering follows the same order.
    """
    import os

    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if not visible:
        return nvml.nvmlDeviceGetHandleByIndex(cuda_index)
    if cuda_index >= len(visible):
        raise ValueError(f"cuda:{cuda_index} is not among CUDA_VISIBLE_DEVICES={','.join(visible)}")
    entry = visible[cuda_index]
    if entry.isdigit():
        return nvml.nvmlDeviceGetHandleByIndex(int(entry))
    return nvml.nvmlDeviceGetHandleByUUID(entry)


def _values(samples: list[dict], key: str) -> list:
    return [s[key] for s in samples if s.get(key) is not None]


def summarise(samples: list[dict], energy_start: int | None, energy_end: int | None, inferences: int, images: int,
              energy_note: str = "") -> dict:
    memory, power, clocks = _values(samples, "memory_used_bytes"), _values(samples, "power_w"), _values(samples, "sm_clock_mhz")
    mask = 0
    for value in _values(samples, "reasons"):
        mask |= int(value)
    energy = None if energy_start is None or energy_end is None else energy_end - energy_start
    warnings = []
    peak, drop = _largest_drop(clocks)
    if drop is not None and drop < (1 - CLOCK_DROP) * peak:
        warnings.append(f"GPU SM clock dropped from {peak:.0f} to {drop:.0f} MHz during the "
                        f"measurement ({', '.join(reason_names(mask)) or 'no reason reported'})")
    slow = [name for name in SLOWDOWN if mask & SLOWDOWN[name]]
    if slow:
        warnings.append(f"GPU clocks were limited during the measurement: {', '.join(slow)}")
    return {
        "samples": len(samples),
        "memory_used_bytes": {"first": memory[0] if memory else None, "max": max(memory) if memory else None},
        "power_w": {"mean": sum(power) / len(power) if power else None, "max": max(power) if power else None},
        "sm_clock_mhz": {"first": clocks[0] if clocks else None, "min": min(clocks) if clocks else None,
                         "max": max(clocks) if clocks else None, "last": clocks[-1] if clocks else None},
        "clock_event_reasons": reason_names(mask), "clock_event_mask": mask,
        "energy_mj": energy,
        "energy_per_inference_mj": energy / inferences if energy is not None and inferences else None,
        "energy_per_image_mj": energy / images if energy is not None and images else None,
        "energy_source": energy_note or "nvmlDeviceGetTotalEnergyConsumption difference over the measured phase",
        "warnings": warnings,
    }
