"""A network benchbed did not generate, measured on every CPU backend beside a plain onnxruntime session.

    python benchmarks/own_onnx.py [--rounds 6] [--seconds 1.0] [--width 64] [--size 224]

Builds a ResNet-style network here (a stem, four stages of two residual blocks, widths w, 2w, 4w, 8w),
exports it with plain ``torch.onnx.export`` (dynamic batch), then in interleaved rounds (A B C D, D C B A,
...) measures batch 1 on:
- benchbed's runners for every CPU backend that reads ONNX files (onnxruntime, openvino, null), through
  the same timing loop ``benchbed sweep --onnx`` uses, on the same file;
- a plain onnxruntime ``InferenceSession.run`` loop timed with perf_counter (what a user writes by hand).
All in one process, so drift hits every variant alike. Prints the median over rounds of each variant's
p50 and its ratio to the plain session. Run it on a quiet machine: a number taken while other processes
load the CPU is not a result.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def resnet(width: int):
    """ResNet-18-like: torch only, nothing from benchbed."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return torch.relu(self.skip(x) + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))

    layers: list = [nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = width
    for i, mult in enumerate((1, 2, 4, 8)):
        layers += [Block(cin, width * mult, 1 if i == 0 else 2), Block(width * mult, width * mult, 1)]
        cin = width * mult
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    torch.manual_seed(0)
    return nn.Sequential(*layers).eval()


def export(path: Path, width: int, size: int) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(resnet(width), (torch.randn(2, 3, size, size),), str(path), input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "n"}, "output": {0: "n"}},
                          opset_version=17, dynamo=False)


def plain_session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def plain_loop(session, feed: dict, seconds: float, iterations: int) -> list[float]:
    for _ in range(3):
        session.run(None, feed)
    samples, begin = [], time.perf_counter()
    while time.perf_counter() - begin < seconds or len(samples) < iterations:
        t0 = time.perf_counter()
        session.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def main() -> None:
    from benchbed.artifacts.synthetic import synthetic_batch
    from benchbed.artifacts.user_onnx import inspect_onnx
    from benchbed.backends import BackendOptions, get_backend
    from benchbed.core.environment import physical_cores
    from benchbed.measure.timing import TimingProfile, time_runner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--width", type=int, default=64, help="64 is ResNet-18's width (11.7 M parameters)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", type=Path, default=None, help="folder for the ONNX file (default: a temp folder)")
    args = parser.parse_args()

    folder = args.out or Path(tempfile.mkdtemp(prefix="benchbed-own-onnx-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "own_resnet.onnx"
    export(path, args.width, args.size)
    model = inspect_onnx(path)
    print(f"{model.name}: {model.params:,} params (initializers), {model.macs / 1e6:,.1f} M MACs "
          f"(Conv/Gemm/MatMul at batch 1), input {model.input_name} {list(model.sample_shape)}")

    threads = physical_cores()
    batch = synthetic_batch(1, model.sample_shape, seed=7)
    profile = TimingProfile("bench", 0.2, 3, args.seconds, 10, args.seconds * 10)
    runners = {}
    for name in ("onnxruntime", "openvino", "null"):
        backend = get_backend(name)
        ok, why = backend.probe()
        if not ok:
            print(f"skipped {name}: {why}")
            continue
        runner = backend.prepare(path, BackendOptions(threads=threads))
        runner.activate()
        runner.set_input(batch)
        runners[f"benchbed {name}"] = runner
    session = plain_session(path, threads)
    feed = {model.input_name: batch}

    def measure(label: str) -> float:
        if label == "plain onnxruntime":
            samples = plain_loop(session, feed, args.seconds, 10)
        else:
            samples = time_runner(runners[label].infer, profile, lambda _: None).samples_ms
        return float(np.percentile(samples, 50))

    labels = [*runners, "plain onnxruntime"]
    p50s: dict[str, list[float]] = {label: [] for label in labels}
    for round_index in range(args.rounds):
        for label in labels if round_index % 2 == 0 else list(reversed(labels)):
            p50s[label].append(measure(label))
    base = p50s["plain onnxruntime"]
    print(f"{'variant':<22} {'p50 ms (median of rounds)':>26} {'÷ plain session (median)':>26}")
    for label in labels:
        ratio = statistics.median(a / b for a, b in zip(p50s[label], base))
        print(f"{label:<22} {statistics.median(p50s[label]):>26.3f} {ratio:>26.3f}")
    for runner in runners.values():
        runner.deactivate()


if __name__ == "__main__":
    main()
