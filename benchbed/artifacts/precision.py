"""Precision as an ONNX -> ONNX transform (registry: fp32, fp16, int8).

TensorRT 11 removed its FP16/INT8 builder flags and takes precision from the graph (strong typing),
and onnxruntime and OpenVINO read the same files, so reduced precision is baked into the ONNX once:
fp16 by onnxconverter-common, int8 as Q/DQ nodes calibrated on seeded synthetic images (or a user's
.npy batch). Every backend then measures the very same graph.

Two int8 recipes, because no one Q/DQ graph suits every runtime:
- ``int8``: onnxruntime.quantization, signed symmetric int8 on every op's inputs: the explicit
  quantization TensorRT 10/11 take (they refuse uint8 Q/DQ), and onnxruntime's own format;
- ``int8-nncf``: NNCF, OpenVINO's post-training quantizer (preset "performance", fast bias correction),
  which places Q/DQ where OpenVINO's CPU plugin runs int8 kernels (the feature-map convolutions and
  the classifier) and leaves the squeeze-excite path and SiLU gates in float; its activations after
  non-negative ops are uint8, so TensorRT cannot build it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from benchbed.core.errors import BenchbedError
from benchbed.core.offline import keep_libraries_offline
from benchbed.artifacts.synthetic import synthetic_images


@dataclass(frozen=True)
class TransformOptions:
    """Options that change a reduced-precision artifact (all part of its cache key)."""

    keep_io_types: bool = True  # fp16: keep float32 inputs/outputs so callers feed the same arrays
    calib_images: int | None = None  # int8: synthetic calibration images (None: the recipe's default)
    calib_data: str | None = None  # int8: a user's .npy of preprocessed NCHW float32 images
    seed: int = 0

    def calibration_images(self, precision: str) -> int:
        return self.calib_images if self.calib_images is not None else get_precision(precision).calib_images

    def key(self, precision: str) -> dict:
        rule = get_precision(precision)
        if precision == "fp16":
            return {"keep_io_types": self.keep_io_types}
        if rule.calibration:
            data_hash = None
            if self.calib_data:
                from benchbed.core.files import sha256_file

                data_hash = sha256_file(self.calib_data)
            return {"calib_images": self.calibration_images(precision), "calib_data_sha256": data_hash,
                    "seed": self.seed, **rule.calibration}
        return {}


@dataclass(frozen=True)
class Precision:
    """One precision: how to make it from the fp32 graph and how close it must stay to PyTorch."""

    name: str
    #: largest accepted max|onnx - torch| / max|torch| on the parity batch
    tolerance: float
    transform: Callable[[Path, Path, int, TransformOptions], dict] | None
    why_tolerance: str
    libraries: tuple[str, ...] = field(default=())
    #: a parity failure means a broken export (refused) rather than an inaccurate but usable one (recorded)
    parity_is_fatal: bool = True
    #: how a calibrated (int8) transform quantizes: part of the artifact's cache key; empty when uncalibrated
    calibration: dict = field(default_factory=dict)
    #: synthetic calibration images when the user names none
    calib_images: int = 0
    #: backends that cannot run this graph, and why (refused when the sweep is planned, not mid-run)
    refused_by: tuple[str, ...] = ()
    why_refused: str = ""


def _to_fp16(src: Path, dst: Path, resolution: int, options: TransformOptions) -> dict:
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(src))
    with warnings.catch_warnings():  # it warns once per tiny weight it clamps to fp16's range
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(model, keep_io_types=options.keep_io_types)
    onnx.save(converted, str(dst))
    return {"keep_io_types": options.keep_io_types}


class _ImageReader:
    """onnxruntime.quantization CalibrationDataReader over an array of images, one per call."""

    def __init__(self, input_name: str, images: np.ndarray) -> None:
        self._items = iter([{input_name: images[i:i + 1]} for i in range(len(images))])

    def get_next(self) -> dict | None:
        return next(self._items, None)

    def rewind(self) -> None:  # pragma: no cover - required by the interface, unused by MinMax
        pass


def _calibration_images(resolution: int, options: TransformOptions, precision: str) -> np.ndarray:
    if not options.calib_data:
        return synthetic_images(options.calibration_images(precision), resolution, seed=options.seed + 1000)
    from benchbed.core.user_files import regular_file

    regular_file(options.calib_data, "--calib-data")
    try:
        images = np.load(options.calib_data, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise BenchbedError(f"cannot read --calib-data {options.calib_data}: {exc}") from None
    if images.ndim != 4 or images.shape[1:] != (3, resolution, resolution):
        raise BenchbedError(
            f"--calib-data must hold an N x 3 x {resolution} x {resolution} array (preprocessed images), "
            f"got shape {images.shape}"
        )
    if len(images) == 0:
        raise BenchbedError(f"--calib-data {options.calib_data} holds no images (shape {images.shape})")
    if not np.issubdtype(images.dtype, np.number) or not np.isfinite(images).all():
        raise BenchbedError(f"--calib-data {options.calib_data} holds NaN, infinite or non-numeric values; "
                            "calibration ranges from them would be meaningless")
    return images.astype(np.float32)


def _to_int8(src: Path, dst: Path, resolution: int, options: TransformOptions) -> dict:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    images = _calibration_images(resolution, options, "int8")
    input_name = onnx.load(str(src), load_external_data=False).graph.input[0].name
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(dst),
            _ImageReader(input_name, images),
            quant_format=QuantFormat.QDQ,  # explicit Q/DQ: what TensorRT 10/11 and OpenVINO consume
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
        )
    return {"calibration_images": int(len(images)), "calibration_source": options.calib_data or "synthetic"}


@contextlib.contextmanager
def _nncf_quietly():
    """Import NNCF with its usage telemetry off and its log and progress bars on stderr.

    NNCF sends usage telemetry unless it believes it runs in CI (NNCF_CI), and even then its import
    writes a client id under ~/intel when openvino_telemetry is importable; :mod:`benchbed.core.offline`
    hides that module (NNCF then falls back to its no-op stub) and sets NNCF_CI. Its
    logger and rich progress bars write to stdout, where ``--format json`` goes: they are moved to stderr.
    """
    keep_libraries_offline()
    try:
        import nncf
        from nncf.common.logging.logger import nncf_logger
    except ImportError:
        raise BenchbedError("int8-nncf needs NNCF: pip install -e '.[openvino]'") from None
    streams = [(h, h.setStream(sys.stderr)) for h in nncf_logger.handlers if isinstance(h, logging.StreamHandler)]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield nncf
    finally:
        for handler, stream in streams:
            handler.setStream(stream)


def _to_int8_nncf(src: Path, dst: Path, resolution: int, options: TransformOptions) -> dict:
    import onnx

    images = _calibration_images(resolution, options, "int8-nncf")
    model = onnx.load(str(src))
    input_name = model.graph.input[0].name
    with _nncf_quietly() as nncf:
        dataset = nncf.Dataset([images[i:i + 1] for i in range(len(images))], lambda item: {input_name: item})
        quantized = nncf.quantize(model, dataset, subset_size=len(images), preset=nncf.QuantizationPreset.PERFORMANCE,
                                  fast_bias_correction=True)
    onnx.save(quantized, str(dst))
    return {"calibration_images": int(len(images)), "calibration_source": options.calib_data or "synthetic",
            "quantizer": "nncf.quantize"}


_INT8_REASON = ("post-training int8 of an untrained network: a sanity bound against a broken graph, not an accuracy "
                "claim; a failure is recorded (and marks measurements INVALID), not refused, because int8 PTQ of "
                "random weights is often this poor")

PRECISIONS: dict[str, Precision] = {
    "fp32": Precision("fp32", 1e-4, None, "the issue's bound for an exact export"),
    "fp16": Precision("fp16", 5e-2, _to_fp16,
                      "fp16 keeps ~3 significant digits and errors accumulate over 16-55 blocks; 5e-2 is the "
                      "fp16 rtol of onnxruntime's own transformers benchmark (B0 measures ~3e-3)",
                      ("onnxconverter-common",)),
    "int8": Precision("int8", 0.5, _to_int8, _INT8_REASON, ("onnxruntime",), parity_is_fatal=False,
                      calibration={"method": "minmax", "format": "qdq", "symmetric": True, "per_channel": True},
                      calib_images=8),
    "int8-nncf": Precision("int8-nncf", 0.5, _to_int8_nncf, _INT8_REASON, ("nncf", "onnxruntime"),
                           parity_is_fatal=False,
                           calibration={"tool": "nncf", "preset": "performance", "fast_bias_correction": True},
                           calib_images=64,  # 8 left B3's parity at 0.74, 64 brought it to 0.37 (untrained weights)
                           refused_by=("tensorrt", "onnxruntime-trt"),
                           why_refused="its Q/DQ has uint8 activations, which TensorRT's explicit quantization "
                                       "refuses: use --precision int8 for TensorRT"),
}


#: Bounds for an fp32 artifact that a backend computes in lower precision (OpenVINO's
#: inference_precision=bf16, torch autocast, TF32 on NVIDIA GPUs): the artifact's own bound would mark every
#: such cell INVALID. A backend says how it computed in ``runner.details["compute_precision"]``; fp32 there
#: means IEEE fp32 arithmetic (TF32 off), judged by the artifact's own bound.
COMPUTE_TOLERANCES: dict[str, tuple[float, str]] = {
    "bf16": (1e-1, "bf16 compute keeps 8 mantissa bits, 3 fewer than fp16 (bound 5e-2): twice fp16's bound; "
                   "OpenVINO bf16 on a 2-core AVX-512 BF16 Xeon measured 3.4e-2 (B0) and 4.1e-2 (B3)"),
    "fp16": (5e-2, "fp16 compute: the fp16 artifact's bound"),
    "tf32": (5e-2, "TF32 rounds the inputs of convolutions and matrix products to 10-bit mantissas (fp16's "
                   "precision) and accumulates in fp32: fp16's bound. Emulated on the CPU (every conv/linear input "
                   "and weight rounded to nearest TF32) B0 measures 4.8e-3 and B3 4.1e-3 on the parity image; not "
                   "yet measured on a GPU"),
}


def compute_tolerance(compute_precision: str | None) -> tuple[float, str] | None:
    """The parity bound for a backend's reduced compute precision, or None for full precision."""
    return COMPUTE_TOLERANCES.get(compute_precision or "fp32")


def get_precision(name: str) -> Precision:
    if name not in PRECISIONS:
        raise BenchbedError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    return PRECISIONS[name]

