"""A fake ``pynvml`` (nvidia-ml-py): calls before nvmlInit raise NVMLError_Uninitialized like the real one,
nvmlInit without a driver raises NVMLError_LibraryNotFound (names, parameters, constants and error codes are
nvidia-ml-py's: tests/conformance checks them);
readings follow a script (SM clock, event reasons, power) so clock drops and energy can be tested. The
total-energy counter integrates the scripted power over real elapsed time (mJ), as the driver does."""

from __future__ import annotations

import time
import types

from gpu_doubles.gpu import FakeGpu


class NVMLError(Exception):
    def __init__(self, value: int, text: str = "") -> None:
        super().__init__(text or f"NVML error {value}")
        self.value = value


class NVMLError_Uninitialized(NVMLError):
    def __init__(self):
        super().__init__(1, "Uninitialized")


class NVMLError_NotSupported(NVMLError):
    def __init__(self):
        super().__init__(3, "Not Supported")


class NVMLError_LibraryNotFound(NVMLError):
    def __init__(self):
        super().__init__(12, "NVML Shared Library Not Found")


def make_pynvml(gpu: FakeGpu, *, sm_clock=lambda t: 1980, reasons=lambda t: 0, power_mw=lambda t: 300_000,
                energy_supported: bool = True, new_reason_api: bool = True) -> types.ModuleType:
    m = types.ModuleType("pynvml")
    m.NVMLError, m.NVMLError_Uninitialized, m.NVMLError_NotSupported = NVMLError, NVMLError_Uninitialized, NVMLError_NotSupported
    m.NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    m.NVML_CLOCK_GRAPHICS, m.NVML_CLOCK_SM, m.NVML_CLOCK_MEM = 0, 1, 2
    for name, bit in (("GpuIdle", 0x1), ("ApplicationsClocksSetting", 0x2), ("SwPowerCap", 0x4),
                      ("HwSlowdown", 0x8), ("SyncBoost", 0x10), ("SwThermalSlowdown", 0x20),
                      ("HwThermalSlowdown", 0x40), ("HwPowerBrakeSlowdown", 0x80), ("DisplayClockSetting", 0x100)):
        setattr(m, f"nvmlClocksEventReason{name}", bit)
        setattr(m, f"nvmlClocksThrottleReason{name}", bit)
    st = types.SimpleNamespace(init=0, t0=None, energy_mj=1_000_000.0, last=None, calls=[])

    def now():
        return time.monotonic() - st.t0

    def need_init():
        if st.init <= 0:
            raise NVMLError_Uninitialized()

    def advance():
        t = now()
        if st.last is not None:
            st.energy_mj += power_mw(t) * (t - st.last)  # mW * s = mJ
        st.last = t
        return t

    def nvmlInit():
        if gpu.driver is None:
            raise NVMLError_LibraryNotFound()
        st.init += 1
        if st.t0 is None:
            st.t0 = time.monotonic()
            st.last = 0.0

    def nvmlShutdown():
        need_init()
        st.init -= 1

    def nvmlDeviceGetCount():
        need_init()
        return gpu.count

    def nvmlDeviceGetHandleByIndex(index):
        need_init()
        if not 0 <= index < gpu.count:
            raise NVMLError(2, "Invalid Argument")
        return ("handle", index)

    def nvmlDeviceGetHandleByUUID(uuid):
        need_init()
        uuids = [f"GPU-fake-{i}" for i in range(gpu.count)]
        if uuid not in uuids:
            raise NVMLError(13, "Not Found")
        return ("handle", uuids.index(uuid))

    def nvmlDeviceGetName(handle):
        need_init()
        return gpu.name

    def nvmlDeviceGetMemoryInfo(handle, version=None):
        need_init()
        return types.SimpleNamespace(total=gpu.total, free=gpu.free, used=gpu.used)

    def nvmlDeviceGetPowerUsage(handle):
        need_init()
        return int(power_mw(advance()))

    def nvmlDeviceGetTotalEnergyConsumption(handle):
        need_init()
        if not energy_supported:
            raise NVMLError_NotSupported()
        advance()
        return int(st.energy_mj)

    def nvmlDeviceGetClockInfo(handle, type):
        need_init()
        st.calls.append("clock")
        return int(sm_clock(now())) if type == m.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetMaxClockInfo(handle, type):
        need_init()
        return 1980

    def nvmlDeviceGetCurrentClocksEventReasons(handle):
        need_init()
        st.calls.append("event-reasons")
        return int(reasons(now()))

    def nvmlDeviceGetCurrentClocksThrottleReasons(handle):
        need_init()
        st.calls.append("throttle-reasons")
        return int(reasons(now()))

    for fn in (nvmlInit, nvmlShutdown, nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex, nvmlDeviceGetHandleByUUID,
               nvmlDeviceGetName,
               nvmlDeviceGetMemoryInfo, nvmlDeviceGetPowerUsage, nvmlDeviceGetTotalEnergyConsumption,
               nvmlDeviceGetClockInfo, nvmlDeviceGetMaxClockInfo, nvmlDeviceGetCurrentClocksThrottleReasons):
        setattr(m, fn.__name__, fn)
    if new_reason_api:
        m.nvmlDeviceGetCurrentClocksEventReasons = nvmlDeviceGetCurrentClocksEventReasons
    m._fake_state = st
    return m
