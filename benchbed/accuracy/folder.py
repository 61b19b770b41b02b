"""An ImageNet-style validation folder: one subfolder per class, images inside (torchvision ``ImageFolder``).

Without a class map a folder's class index is its position among the sorted subfolder names, as in
``ImageFolder``. That is only right for a complete 1000-class folder: a partial one (a few classes of
ImageNet) needs ``--class-map``, a text file with one wnid per line whose line number is the class
index (extra text after the wnid, as in ``LOC_synset_mapping.txt``, is ignored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchbed.core.errors import BenchbedError, ConfigError
from benchbed.core.user_files import display_path, read_user_text, regular_file

#: ImageNet's class map is 31 kB; 16 MB is no class map.
MAX_CLASS_MAP_BYTES = 16 << 20
#: Pixels one image may decode to (a 100-megapixel photograph is 1e8): above it, a decompression bomb.
MAX_IMAGE_PIXELS = 178_956_970  # PIL's own DecompressionBombError threshold (2 x its warning limit)

#: torchvision's IMG_EXTENSIONS, compared case-insensitively (ImageNet's own files end in .JPEG)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass(frozen=True)
class ImageFolderIndex:
    """Every image of the folder with its class index, plus what was skipped (reported, not fatal)."""

    root: Path
    classes: dict[str, int]
    samples: list[Sample]
    skipped: list[Path]


def read_class_map(path: str | Path) -> dict[str, int]:
    """wnid -> class index from a one-wnid-per-line file (line number = index)."""
    try:
        lines = read_user_text(path, "class map", MAX_CLASS_MAP_BYTES).splitlines()
    except BenchbedError as exc:
        raise ConfigError("class_map", str(exc)) from None
    while lines and not lines[-1].strip():
        lines.pop()
    mapping: dict[str, int] = {}
    for number, line in enumerate(lines):
        if not line.strip():
            raise ConfigError("class_map", f"{path}: line {number + 1} is empty (line number = class index)")
        wnid = line.split()[0]
        if wnid in mapping:
            raise ConfigError("class_map", f"{path}: {wnid!r} on line {number + 1} already on line "
                                             f"{mapping[wnid] + 1}")
        mapping[wnid] = number
    if not mapping:
        raise ConfigError("class_map", f"{path} is empty")
    return mapping


def index_folder(root: str | Path, num_classes: int, class_map: dict[str, int] | None = None) -> ImageFolderIndex:
    """Classes and images of ``root``, checked against a model with ``num_classes`` outputs."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError("val_dir", f"{root}: not a folder")
    names = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not names:
        raise ConfigError("val_dir", f"{root}: no class subfolders (expected DIR/<class>/<image>)")
    if class_map is None:
        if len(names) > num_classes:
            raise ConfigError("val_dir", f"{root} has {len(names)} class folders but the network has "
                                             f"{num_classes} classes")
        classes = {name: i for i, name in enumerate(names)}
    else:
        unknown = [name for name in names if name not in class_map]
        if unknown:
            raise BenchbedError(f"--val-dir {root}: {len(unknown)} class folders not in --class-map "
                                f"(first: {unknown[0]!r})")
        classes = {name: class_map[name] for name in names}
        too_high = max(classes.values())
        if too_high >= num_classes:
            raise ConfigError("class_map", f"puts class {too_high} in the folder but the network has "
                                               f"{num_classes} classes")
    samples, skipped = [], []
    for name in names:
        for path in _walk_once(root / name):
            if path.name.lower().endswith(IMAGE_EXTENSIONS):
                samples.append(Sample(path, classes[name]))
            else:
                skipped.append(path)
    if not samples:
        raise ConfigError("val_dir", f"{root}: no images in its {len(names)} class folders "
                                         f"(extensions: {', '.join(IMAGE_EXTENSIONS)})")
    return ImageFolderIndex(root, classes, samples, skipped)


def _walk_once(top: Path) -> list[Path]:
    """Every file under ``top``, links followed, each folder and each file entered once.

    A folder is known by (device, inode): a link back to a folder already walked (a loop, or two links to
    one folder) is refused, since it would count the same images again or never end. A file reached twice
    (two links to one image) is counted once.
    """
    seen_dirs: dict[tuple[int, int], Path] = {}
    seen_files: set[tuple[int, int]] = set()
    found: list[Path] = []
    pending = [top]
    while pending:
        folder = pending.pop()
        info = folder.stat()
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            raise ConfigError("val_dir", f"{display_path(folder)} is a link to {display_path(seen_dirs[key])}, "
                                         "already read: remove the loop or the second link")
        seen_dirs[key] = folder
        children = []
        with os.scandir(folder) as entries:
            for entry in entries:
                path = Path(entry.path)
                try:
                    if entry.is_dir(follow_symlinks=True):
                        children.append(path)
                        continue
                    file_info = entry.stat(follow_symlinks=True)
                except OSError:
                    found.append(path)  # a dangling link: reported as skipped or as unreadable later
                    continue
                if (file_info.st_dev, file_info.st_ino) not in seen_files:
                    seen_files.add((file_info.st_dev, file_info.st_ino))
                    found.append(path)
        pending.extend(sorted(children, reverse=True))
    return sorted(found)


def load_image(path: Path):
    """Decode ``path`` fully (a truncated file fails here, naming the file, not later in a batch)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    regular_file(path, "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # benchbed's own bound decides
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise BenchbedError(f"image {display_path(path)} is {width} x {height} pixels, more than "
                                        f"{MAX_IMAGE_PIXELS:,}: refused as a decompression bomb")
                image.load()
                return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchbedError(f"cannot read image {display_path(path)}: {first}") from None
