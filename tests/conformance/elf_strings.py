"""String literals of a shared library's ``.rodata`` (ELF64), for option names compiled into onnxruntime-gpu.

onnxruntime's providers accept their options by comparing against string literals; without a GPU the
provider libraries cannot be loaded, so their literals are the reliable record of which names exist.
The linker may store a literal as the tail of a longer one ("device_id" inside "set_cuda_device_id"),
so a name counts as present when it ends a literal, not only when it is one.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path


def section(path: Path, name: str) -> bytes:
    """The bytes of section ``name`` of a little-endian ELF64 file."""
    with open(path, "rb") as handle:
        header = handle.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
            raise ValueError(f"{path} is not a little-endian ELF64 file")
        shoff, = struct.unpack_from("<Q", header, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", header, 0x3A)
        handle.seek(shoff)
        table = handle.read(shentsize * shnum)
        headers = [struct.unpack_from("<IIQQQQ", table, i * shentsize) for i in range(shnum)]
        _, _, _, _, names_offset, names_size = headers[shstrndx]
        handle.seek(names_offset)
        names = handle.read(names_size)
        for sh_name, _, _, _, offset, size in headers:
            if names[sh_name:names.index(b"\0", sh_name)].decode() == name:
                handle.seek(offset)
                return handle.read(size)
    raise KeyError(f"{path} has no {name} section")


class Literals:
    """The NUL-terminated strings in a library's ``.rodata``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = b"\0" + section(path, ".rodata")

    def has(self, name: str) -> bool:
        """``name`` is a literal, or the tail of one (the linker merges string tails)."""
        return name.encode() + b"\0" in self.data

    def exact(self, pattern: str) -> set[str]:
        """Whole literals made of identifier characters that match the regex ``pattern``."""
        words = re.findall(rb"(?<=\0)([A-Za-z0-9_]+)(?=\0)", self.data)
        return {w.decode() for w in words if re.search(pattern, w.decode())}

    def findall(self, pattern: bytes) -> list[str]:
        return [m.decode() for m in re.findall(pattern, self.data)]
