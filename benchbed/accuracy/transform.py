"""The reference ImageNet eval transform (torchvision's ``ImageClassification`` preset), without torchvision.

Resize the shorter side to ``resize`` (PIL, antialiased like torchvision on PIL images), center-crop
``crop``, scale to [0, 1], normalize with the ImageNet mean/std, CHW float32. torchvision does not
pair with our torch build, so this re-implements its arithmetic (output size truncation, crop offset
rounding, zero padding when the crop exceeds the image) to give the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from benchbed.artifacts.synthetic import IMAGENET_MEAN, IMAGENET_STD
from benchbed.core.errors import BenchbedError, UnknownChoiceError

MEAN, STD = IMAGENET_MEAN, IMAGENET_STD
INTERPOLATIONS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
                  "nearest": Image.Resampling.NEAREST}
#: timm's default crop_pct for networks without a published eval transform (resize = crop / 0.875)
DEFAULT_CROP_PCT = 0.875

#: B7 evaluates at 600 px; 4096 leaves room and keeps one resized image under 200 MB.
MAX_SIDE = 4096


@dataclass(frozen=True)
class EvalTransform:
    """crop / resize / interpolation, and where they came from (for the result's source line)."""

    crop: int
    resize: int
    interpolation: str
    origin: str = "given"

    def __post_init__(self) -> None:
        if not (1 <= self.crop <= MAX_SIDE and 1 <= self.resize <= MAX_SIDE):
            raise BenchbedError(f"crop and resize must be 1 to {MAX_SIDE} pixels, got crop {self.crop}, "
                                f"resize {self.resize}")
        if self.interpolation not in INTERPOLATIONS:
            raise UnknownChoiceError("interpolation", self.interpolation, INTERPOLATIONS)

    def describe(self) -> str:
        return f"{self.crop}/{self.resize}/{self.interpolation}"

    def __call__(self, image: Image.Image) -> np.ndarray:
        """One RGB PIL image -> normalized CHW float32 array of shape (3, crop, crop)."""
        image = center_crop(resize_shorter(image.convert("RGB"), self.resize, self.interpolation), self.crop)
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        return ((pixels - MEAN) / STD).transpose(2, 0, 1).copy()


def resize_shorter(image: Image.Image, size: int, interpolation: str) -> Image.Image:
    """Shorter side to ``size``, the longer one scaled and truncated (torchvision's int(size * long / short))."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return image  # torchvision returns the image untouched here too
    new_long = int(size * long / short)
    new_w, new_h = (size, new_long) if w <= h else (new_long, size)
    return image.resize((new_w, new_h), INTERPOLATIONS[interpolation])


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Central ``size`` x ``size`` square; an image smaller than that is zero-padded first (as torchvision)."""
    w, h = image.size
    if size > w or size > h:
        padded = Image.new(image.mode, (max(w, size), max(h, size)))
        padded.paste(image, ((size - w) // 2 if size > w else 0, (size - h) // 2 if size > h else 0))
        image, (w, h) = padded, padded.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def default_transform(spec) -> EvalTransform:
    """The eval transform for ``spec``: torchvision's published one where torchvision evaluates this very
    network (same input size), else crop = resolution at crop_pct 0.875. torchvision's B2 is evaluated at
    288 px, so it is the transform of ``efficientnet_b2@r288``, not of the 260 px B2.

    Where torchvision has several weights (B1 V1 and V2) the newest is taken, as its ``DEFAULT`` is.
    """
    from benchbed.accuracy.tables import rows_for_source

    rows = [r for r in rows_for_source("torchvision") if r.network == spec.name]
    if rows:
        tv = max(rows, key=lambda r: r.weights)
        return EvalTransform(tv.crop, tv.resize, tv.interpolation,
                             origin=f"torchvision {spec.name} {tv.weights.split(':', 1)[1]}")
    crop = spec.resolution
    return EvalTransform(crop, round(crop / DEFAULT_CROP_PCT), "bicubic",
                         origin=f"network resolution, crop_pct {DEFAULT_CROP_PCT}")


def choose_transform(spec, crop: int | None = None, resize: int | None = None,
                     interpolation: str | None = None) -> EvalTransform:
    """The default transform with any of crop/resize/interpolation overridden by the user.

    Overriding only the crop keeps the default's crop/resize ratio, so ``--crop 256`` on B0 resizes to 293.
    """
    base = default_transform(spec)
    if crop is None and resize is None and interpolation is None:
        return base
    if crop is not None and crop != spec.resolution:
        raise BenchbedError(f"--crop {crop} differs from the network's input size ({spec.resolution} px): accuracy "
                            f"at {crop} px belongs to another network; add --resolution {crop} to measure that one")
    new_crop = crop if crop is not None else base.crop
    new_resize = resize if resize is not None else (
        base.resize if crop is None else round(new_crop * base.resize / base.crop))
    return EvalTransform(new_crop, new_resize, interpolation or base.interpolation, origin=base.origin + ", overridden")
