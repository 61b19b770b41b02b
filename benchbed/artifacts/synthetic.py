"""Seeded synthetic images: calibration, parity and timing inputs without downloading any data set.

Smooth random fields plus fine noise, clipped to [0, 1] and normalised with the ImageNet mean/std,
so the inputs have the spatial correlation and value range of preprocessed photos.
"""

from __future__ import annotations

import numpy as np

#: The ImageNet per-channel mean and std every EfficientNet eval transform normalises with (RGB order).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def synthetic_images(batch: int, resolution: int, seed: int = 0) -> np.ndarray:
    """A float32 NCHW batch of normalised, image-like inputs; the same seed gives the same images."""
    rng = np.random.default_rng(seed)
    coarse = max(2, resolution // 16)
    low = rng.random((batch, 3, coarse, coarse), dtype=np.float32)
    # nearest-neighbour upsampling then a box blur: cheap, smooth, deterministic
    reps = -(-resolution // coarse)
    smooth = np.repeat(np.repeat(low, reps, axis=2), reps, axis=3)[:, :, :resolution, :resolution]
    kernel = max(1, reps // 2)
    cumsum = np.cumsum(np.pad(smooth, ((0, 0), (0, 0), (kernel, kernel), (0, 0)), mode="edge"), axis=2)
    smooth = (cumsum[:, :, 2 * kernel:, :] - cumsum[:, :, :-2 * kernel, :]) / (2 * kernel) if kernel > 1 else smooth
    cumsum = np.cumsum(np.pad(smooth, ((0, 0), (0, 0), (0, 0), (kernel, kernel)), mode="edge"), axis=3)
    smooth = (cumsum[:, :, :, 2 * kernel:] - cumsum[:, :, :, :-2 * kernel]) / (2 * kernel) if kernel > 1 else smooth
    smooth = smooth[:, :, :resolution, :resolution]
    noise = rng.normal(0.0, 0.05, size=smooth.shape).astype(np.float32)
    pixels = np.clip(smooth + noise, 0.0, 1.0)
    return ((pixels - IMAGENET_MEAN.reshape(1, 3, 1, 1)) / IMAGENET_STD.reshape(1, 3, 1, 1)).astype(np.float32)


def synthetic_batch(batch: int, sample: int | tuple[int, ...] | list[int], seed: int = 0) -> np.ndarray:
    """Inputs for any network: ``sample`` is a resolution (benchbed's 3xRxR images) or one sample's shape.
    A 3xHxH shape gets :func:`synthetic_images`; other shapes (a user's ONNX file may take anything) get
    seeded standard normal float32."""
    shape = (3, int(sample), int(sample)) if isinstance(sample, (int, np.integer)) else tuple(int(d) for d in sample)
    if len(shape) == 3 and shape[0] == 3 and shape[1] == shape[2]:
        return synthetic_images(batch, shape[1], seed=seed)
    return np.random.default_rng(seed).standard_normal((batch, *shape), dtype=np.float32)


def job_sample(job) -> int | tuple[int, ...]:
    """What :func:`synthetic_batch` needs for a job: its input shape (user ONNX files) or its resolution."""
    return tuple(job.input_shape) if getattr(job, "input_shape", None) else job.resolution
