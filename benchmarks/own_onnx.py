"""A network benchbed did not generate, measured on every CPU backend beside a plain onnxruntime session
and OpenVINO's benchmark_app, interleaved.

    python benchmarks/own_onnx.py [--budget 90] [--width 64] [--size 224]

Builds a ResNet-style network here (a stem, four stages of two residual blocks, widths w, 2w, 4w, 8w),
exports it with plain ``torch.onnx.export`` (dynamic batch), and measures batch 1 on the same file:
- benchbed's cells for every CPU backend that reads ONNX files (onnxruntime, openvino), prepared as
  ``benchbed sweep --onnx FILE`` prepares them, each loaded once in a resident worker;
- a plain onnxruntime ``InferenceSession.run`` loop with onnxruntime's defaults (what a user writes);
- OpenVINO's benchmark_app (latency hint, f32), run once per burst.
All are timed in alternating one-second bursts for ``--budget`` seconds (``benchbed.analysis.interleave``),
and each is reported as a ratio to the plain session with a 95 % interval over rounds. Run it on a quiet
machine: a number taken while other processes load the CPU is not a result.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path



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


def main() -> None:
    from peers import benchbed_cell, benchbed_job, benchmark_app, plain_session, print_pair, print_ratios, run

    from benchbed.artifacts.user_onnx import inspect_onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=90.0)
    parser.add_argument("--statistic", default="min", help="each burst's figure: min, p10 or median")
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
    shape = [1, *model.sample_shape]
    jobs = {b: benchbed_job(["--onnx", str(path), "--backend", b, "--models", str(folder / "models")])
            for b in ("onnxruntime", "openvino")}
    result = run([plain_session("plain onnxruntime session", path, shape),
                  benchbed_cell("benchbed onnxruntime", jobs["onnxruntime"]),
                  benchmark_app("openvino benchmark_app", path, shape),
                  benchbed_cell("benchbed openvino", jobs["openvino"])], args.budget, args.statistic)
    print_ratios(f"{model.name} ({path})", result)
    print_pair(result, "benchbed openvino", "openvino benchmark_app")


if __name__ == "__main__":
    main()
