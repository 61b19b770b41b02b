"""A double of the ``torch.cuda`` surface the ``torch-cuda`` backend uses, over real CPU torch.

"CUDA" tensors stay in host memory (so the math is real torch on the CPU and outputs can be checked) but
carry a ``_fake_cuda`` device mark that follows them through ``to`` / ``contiguous`` / ``float`` / ``half``,
and the contracts that matter are enforced like the real runtime does:

- a module moved to ``cuda:N`` refuses inputs that are not on ``cuda:N``; any module with CPU weights
  refuses a CUDA input ("Input type ... and weight type ... should be the same");
- ``Tensor.numpy()`` of a CUDA tensor raises (``.cpu()`` first);
- ``cuda:N`` with N >= the device count raises "invalid device ordinal";
- ``Event.elapsed_time`` raises unless both events were created with ``enable_timing=True``, recorded, and
  completed (``torch.cuda.synchronize`` or ``Event.synchronize``) -- so a runner that does not synchronise fails;
- ``is_available`` / ``device_count`` create no context; every other call does (``context_created``), so
  tests can check that nothing touches the GPU before ``activate``.

``torch.compile`` is recorded and returns the module unchanged (real Inductor code generation is CPU-only
here and slow; the CPU backend's tests compile for real). ``torch.autocast("cuda", dtype)`` is recorded and
runs as CPU autocast with the same dtype, so reduced-precision numerics are real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

MARK = "_fake_cuda"


def device_of(tensor) -> str:
    return getattr(tensor, MARK, None) or "cpu"


@dataclass
class FakeCuda:
    count: int = 1
    name: str = "NVIDIA H100 80GB HBM3"
    context_created: bool = False
    current: int = 0
    calls: list = field(default_factory=list)
    allocated: int = 0
    peak: int = 0
    pending: list = field(default_factory=list)
    h2d_copies: int = 0
    d2h_copies: int = 0
    compiled: list = field(default_factory=list)
    autocasts: list = field(default_factory=list)
    forward_inference_mode: list = field(default_factory=list)

    def touch(self, what: str) -> None:
        self.context_created = True
        self.calls.append(what)

    def device(self, device) -> str:
        """'cuda', 'cuda:1', torch.device -> 'cuda:N', checking the ordinal like the runtime does."""
        text = str(device)
        index = self.current if text == "cuda" else int(text.partition(":")[2])
        if index >= self.count:
            raise RuntimeError("CUDA error: invalid device ordinal")
        self.touch(f"device cuda:{index}")
        return f"cuda:{index}"

    def alloc(self, nbytes: int) -> None:
        self.allocated += nbytes
        self.peak = max(self.peak, self.allocated)

    def complete(self) -> None:
        for event in self.pending:
            event._done = True
        self.pending.clear()


def _is_cuda(device) -> bool:
    return device is not None and str(device).startswith("cuda")


def _split_device(args, kwargs):
    """(target device or None, args and kwargs without it) for Tensor.to / Module.to."""
    args, kwargs = list(args), dict(kwargs)
    device = kwargs.pop("device", None)
    if device is None and args and isinstance(args[0], (str, torch.device)):
        device = args.pop(0)
    return device, args, kwargs


def install(monkeypatch, count: int = 1, available: bool = True) -> FakeCuda:
    """Install the double; call ``fake.close()`` after the test (a fixture does)."""
    fake = FakeCuda(count=count if available else 0)
    cuda = torch.cuda
    tensor_to, tensor_cpu, tensor_numpy = torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.numpy
    module_to = torch.nn.Module.to
    real_autocast = torch.autocast

    # --- device queries (no context) and context-creating calls -------------------------------------------
    monkeypatch.setattr(cuda, "is_available", lambda: available and count > 0)
    monkeypatch.setattr(cuda, "device_count", lambda: fake.count)
    monkeypatch.setattr(torch.version, "cuda", "12.8")

    def set_device(device):
        fake.current = int(fake.device(device).partition(":")[2])

    def synchronize(device=None):
        if device is not None:
            fake.device(device)
        fake.touch("synchronize")
        fake.complete()

    def reset_peak(device=None):
        fake.device(device if device is not None else "cuda")
        fake.peak = fake.allocated
        fake.calls.append("reset_peak_memory_stats")

    def reader(value):
        def read(device=None):
            fake.device(device if device is not None else "cuda")
            return value()
        return read

    monkeypatch.setattr(cuda, "set_device", set_device)
    monkeypatch.setattr(cuda, "synchronize", synchronize)
    monkeypatch.setattr(cuda, "reset_peak_memory_stats", reset_peak)
    monkeypatch.setattr(cuda, "max_memory_allocated", reader(lambda: fake.peak))
    monkeypatch.setattr(cuda, "memory_allocated", reader(lambda: fake.allocated))
    monkeypatch.setattr(cuda, "max_memory_reserved", reader(lambda: -(-fake.peak // (2 << 20)) * (2 << 20)))
    monkeypatch.setattr(cuda, "memory_reserved", reader(lambda: -(-fake.allocated // (2 << 20)) * (2 << 20)))
    monkeypatch.setattr(cuda, "empty_cache", lambda: fake.touch("empty_cache"))
    monkeypatch.setattr(cuda, "get_device_name", lambda device=None: (fake.device(device or "cuda"), fake.name)[1])

    class Event:
        def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False):
            fake.touch("Event")
            self.enable_timing = enable_timing
            self._t: float | None = None
            self._done = False

        def record(self, stream=None) -> None:
            self._t, self._done = time.perf_counter(), False
            fake.pending.append(self)

        def synchronize(self) -> None:
            fake.complete()

        def query(self) -> bool:
            return self._done

        def elapsed_time(self, end: "Event") -> float:
            if not (self.enable_timing and end.enable_timing):
                raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
            if self._t is None or end._t is None:
                raise RuntimeError("Both events must be recorded before calculating elapsed time.")
            if not (self._done and end._done):
                raise RuntimeError("CUDA error: device not ready")
            return (end._t - self._t) * 1e3

    monkeypatch.setattr(cuda, "Event", Event)

    # --- tensors: device marks, copies, numpy refusal -------------------------------------------------------
    def mark(tensor, device):
        setattr(tensor, MARK, device)
        return tensor

    def to(self, *args, **kwargs):
        device, rest, kw = _split_device(args, kwargs)
        source = device_of(self)
        if _is_cuda(device):
            target = fake.device(device)
            if source == "cpu":
                fake.h2d_copies += 1
                fake.calls.append(f"h2d non_blocking={bool(kw.get('non_blocking'))} "
                                  f"pinned={bool(getattr(self, '_fake_pinned', False))}")
            kw.pop("non_blocking", None)
            out = tensor_to(self, *rest, **kw) if rest or kw else self
            out = out.clone() if out is self and source != target else out
            if source != target:
                fake.alloc(out.numel() * out.element_size())
            return mark(out, target)
        if device is not None:  # to CPU
            kw.pop("non_blocking", None)
            out = tensor_to(self, *rest, **kw) if rest or kw else self
            if source != "cpu":
                fake.d2h_copies += 1
                fake.complete()  # a synchronous device->host copy waits for the device
                out = out.clone() if out is self else out
                if hasattr(out, MARK):
                    delattr(out, MARK)
            return out
        out = tensor_to(self, *rest, **kw)  # dtype / memory format only: stays where it is
        return mark(out, source) if source != "cpu" else out

    def cpu(self, *args, **kwargs):
        return to(self, "cpu") if device_of(self) != "cpu" else tensor_cpu(self, *args, **kwargs)

    def numpy(self, *args, **kwargs):
        if device_of(self) != "cpu":
            raise TypeError(f"can't convert {device_of(self)} device type tensor to numpy. Use Tensor.cpu() to "
                            "copy the tensor to host memory first.")
        return tensor_numpy(self, *args, **kwargs)

    def keeps_device(method):
        def wrapped(self, *args, **kwargs):
            out = method(self, *args, **kwargs)
            return mark(out, device_of(self)) if device_of(self) != "cpu" else out
        return wrapped

    def pin_memory(self, *args, **kwargs):
        fake.touch("pin_memory")
        out = self.clone()
        out._fake_pinned = True
        return out

    monkeypatch.setattr(torch.Tensor, "to", to)
    monkeypatch.setattr(torch.Tensor, "cpu", cpu)
    monkeypatch.setattr(torch.Tensor, "numpy", numpy)
    monkeypatch.setattr(torch.Tensor, "pin_memory", pin_memory)
    for name in ("contiguous", "float", "half"):
        monkeypatch.setattr(torch.Tensor, name, keeps_device(getattr(torch.Tensor, name)))

    # --- modules: weights on the device, inputs checked against them -------------------------------------
    def check_input(module, inputs):
        device = device_of(next(module.parameters()))
        for x in inputs:
            if isinstance(x, torch.Tensor) and device_of(x) != device:
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                                   f"devices, {device} and {device_of(x)}!")

    def mark_output(module, inputs, output):
        fake.forward_inference_mode.append(torch.is_inference_mode_enabled())
        device = device_of(next(module.parameters()))
        fake.alloc(output.numel() * output.element_size())
        return mark(output, device)

    def module_to_(self, *args, **kwargs):
        device, rest, kw = _split_device(args, kwargs)
        out = module_to(self, *rest, **kw) if rest or kw else self
        if _is_cuda(device):
            target = fake.device(device)
            fake.calls.append(f"module.to {target}")
            for tensor in list(self.parameters()) + list(self.buffers()):
                if device_of(tensor) != target:
                    fake.alloc(tensor.numel() * tensor.element_size())
                mark(tensor, target)
            if not getattr(self, "_fake_hooks", False):
                self.register_forward_pre_hook(check_input)
                self.register_forward_hook(mark_output)
                self._fake_hooks = True
        return out

    def weights_match_input(module, inputs):
        own = list(module.parameters(recurse=False))
        if own and device_of(own[0]) == "cpu":
            for x in inputs:
                if isinstance(x, torch.Tensor) and device_of(x) != "cpu":
                    raise RuntimeError("Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) "
                                       "should be the same")

    monkeypatch.setattr(torch.nn.Module, "to", module_to_)

    # --- compile and autocast --------------------------------------------------------------------------------
    def compile_(model, *args, **kwargs):
        fake.compiled.append((model, device_of(next(model.parameters()))))
        return model

    def autocast(device_type, dtype=None, enabled=True, cache_enabled=None):
        fake.autocasts.append((device_type, dtype, enabled))
        if device_type != "cuda":
            return real_autocast(device_type, dtype=dtype, enabled=enabled)
        return real_autocast("cpu", dtype=dtype or torch.bfloat16, enabled=enabled)

    monkeypatch.setattr(torch, "compile", compile_)
    monkeypatch.setattr(torch, "autocast", autocast)
    flags = [(torch.backends.cudnn, "benchmark"), (torch.backends.cudnn, "allow_tf32"),
             (torch.backends.cuda.matmul, "allow_tf32")]
    saved = [(obj, name, getattr(obj, name)) for obj, name in flags]
    handle = torch.nn.modules.module.register_module_forward_pre_hook(weights_match_input)

    def close() -> None:
        """Remove the global module hook and restore the backend flags the runner sets."""
        handle.remove()
        for obj, name, value in saved:
            setattr(obj, name, value)

    fake.close = close
    return fake
