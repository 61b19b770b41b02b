"""One fake NVIDIA GPU shared by the fake cuda runtime, TensorRT and NVML doubles.

Device memory is real host memory (ctypes buffers), so copies and engine execution move actual bytes and
tests can check outputs; allocations are accounted against ``total`` so out-of-memory can be simulated.
``context_created`` turns true on the first call that would create a CUDA context in the real runtime,
so tests can assert that probing never does.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Callable

MIB = 1 << 20


@dataclass
class Allocation:
    buffer: object
    size: int
    pinned: bool


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    major: int = 9
    minor: int = 0
    driver: int | None = 13040  # cudaDriverGetVersion (CUDA 13.4 driver); None: no driver installed
    count: int = 1
    total: int = 512 * MIB
    context_bytes: int = 64 * MIB
    context_created: bool = False
    used: int = 0
    allocations: dict[int, Allocation] = field(default_factory=dict)
    streams: dict[int, "object"] = field(default_factory=dict)
    graph_launches: int = 0
    kernel_ms: float = 0.5  # simulated GPU time of one engine execution
    log: list[str] = field(default_factory=list)  # call log for order checks
    _next_handle: int = 0x1000

    def handle(self) -> int:
        self._next_handle += 16
        return self._next_handle

    @property
    def free(self) -> int:
        return self.total - self.used

    def create_context(self) -> None:
        if not self.context_created:
            self.context_created = True
            self.used += self.context_bytes

    def allocate(self, size: int, pinned: bool = False) -> int | None:
        """A real buffer; device allocations count against ``total``. None when out of memory."""
        self.create_context()
        if not pinned and self.used + size > self.total:
            return None
        buffer = (ctypes.c_byte * max(1, size))()
        address = ctypes.addressof(buffer)
        self.allocations[address] = Allocation(buffer, size, pinned)
        if not pinned:
            self.used += size
        return address

    def release(self, address: int, pinned: bool) -> bool:
        alloc = self.allocations.get(address)
        if alloc is None or alloc.pinned != pinned:
            return False
        del self.allocations[address]
        if not pinned:
            self.used -= alloc.size
        return True

    def reserve(self, size: int) -> bool:
        """Device memory taken by TensorRT itself (engine weights, activations)."""
        self.create_context()
        if self.used + size > self.total:
            return False
        self.used += size
        return True

    def unreserve(self, size: int) -> None:
        self.used -= size

    def region(self, address: int, size: int, device: bool) -> bool:
        """Does [address, address+size) lie in one device (or pinned/any host) allocation?"""
        for start, alloc in self.allocations.items():
            if start <= address and address + size <= start + alloc.size:
                return (not alloc.pinned) == device
        return not device  # pageable host memory is any other address


@dataclass
class FakeStream:
    gpu: FakeGpu
    handle: int
    clock_ms: float = 0.0
    capture: list[Callable[[], float]] | None = None
    events: list = field(default_factory=list)  # recorded, not yet known complete (cudart double)

    def __int__(self) -> int:
        return self.handle

    def submit(self, op: Callable[[], float]) -> None:
        """Run ``op`` now (it returns its simulated GPU ms) or record it while capturing."""
        if self.capture is not None:
            self.capture.append(op)
        else:
            self.clock_ms += op()
