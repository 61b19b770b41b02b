"""Reading a file a user named: regular files only, a size cap, UTF-8 whatever the locale, bounded nesting.

Every reader of a user's file (baseline YAML, results.json, price files, accuracy CSVs, class maps,
calibration arrays, images) comes through here, so a FIFO (which blocks ``open`` forever), a link to
``/dev/zero`` (which never ends), a 2 GB file, bytes that are not UTF-8, a document nested 100,000 deep or
a YAML alias bomb is one line naming the file, never a hang, a MemoryError or a traceback.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from benchbed.core.errors import BenchbedError

#: Text formats (YAML, JSON, CSV, class maps): far above any real one, far below the machine's memory.
MAX_TEXT_BYTES = int(os.environ.get("BENCHBED_MAX_TEXT_BYTES", 256 * 1024 * 1024))
#: Nesting deeper than this is no document benchbed writes or reads (results are 5-6 levels deep).
MAX_DEPTH = 64
#: YAML nodes in one document: a baseline or price file has a few hundred.
MAX_YAML_NODES = 100_000


def shown(value: Any, limit: int = 60) -> str:
    """A user's value for an error message: repr'd, cut to ``limit`` characters (never a 72 MB line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def display_path(path: str | os.PathLike) -> str:
    """The path as text that prints under any locale (undecodable bytes escaped, not an error)."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def check_encodable_path(path: str | os.PathLike, what: str) -> Path:
    """``path`` as native libraries (onnx, onnxruntime, torch's exporter) take it: UTF-8 text.

    Under a C locale without UTF-8 mode (``LC_ALL=C PYTHONUTF8=0``) Python keeps a non-ASCII file name as
    undecodable bytes, which those libraries refuse with errors about the file's content (or a torch graph
    dump): named here, in one line, with the fix.
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise BenchbedError(f"{what} {display_path(path)}: the path is not text in this locale's encoding "
                            f"({sys.getfilesystemencoding()}); run with PYTHONUTF8=1 or a UTF-8 locale, or "
                            "rename it") from None
    return Path(path)


def regular_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` if it is (or links to) a regular file; else one line saying what it is instead."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise BenchbedError(f"cannot read {what} {display_path(path)}: it does not exist") from None
    except OSError as exc:
        raise _unreadable(what, path, exc) from None
    if stat.S_ISREG(info.st_mode):
        return path
    kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode)
            else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
    raise BenchbedError(f"{what} {display_path(path)} is {kind}, not a regular file")


def read_user_bytes(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (read no further than that)."""
    path = regular_file(path, what)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _unreadable(what, path, exc) from None
    if len(data) > max_bytes:
        raises = " (BENCHBED_MAX_TEXT_BYTES raises the limit)" if max_bytes == MAX_TEXT_BYTES else ""
        raise BenchbedError(f"{what} {display_path(path)} is larger than {max_bytes:,} bytes: not a file benchbed "
                            f"reads as one{raises}")
    return data


def _unreadable(what: str, path: Path, exc: OSError) -> BenchbedError:
    return BenchbedError(f"cannot read {what} {display_path(path)}: {(exc.strerror or str(exc)).lower()}")


def read_user_text(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The file's text as UTF-8 (a leading BOM is dropped), whatever the locale says."""
    data = read_user_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BenchbedError(f"{what} {display_path(path)} line {line}: not UTF-8 text (byte {exc.start}); "
                            "save it as UTF-8") from None


def parse_user_json(text: str, source: str) -> Any:
    """JSON with bounded nesting: a hostile file is a one-line error, not a RecursionError."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise BenchbedError(f"{source} is nested too deeply to be a benchbed file") from None
    except ValueError as exc:
        raise BenchbedError(f"{source} is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    if _depth(data) > MAX_DEPTH:
        raise BenchbedError(f"{source} is nested more than {MAX_DEPTH} levels deep: not a benchbed file")
    return data


def load_user_json(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES) -> Any:
    return parse_user_json(read_user_text(path, what, max_bytes), f"{what} {display_path(path)}")


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
    return depth - 1


def parse_user_yaml(text: str, source: str) -> Any:
    """YAML through PyYAML's safe loader with aliases refused and nesting and node count capped.

    Aliases are what a billion-laughs file multiplies; benchbed's own YAML formats never need them.
    """
    import yaml

    class _BoundedLoader(yaml.SafeLoader):
        nodes = 0
        depth = 0

        def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"line {mark.line + 1}: YAML aliases (*name) are not accepted")
            self.nodes += 1
            self.depth += 1
            if self.nodes > MAX_YAML_NODES:
                raise yaml.YAMLError(f"more than {MAX_YAML_NODES:,} YAML nodes")
            if self.depth > MAX_DEPTH:
                raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node, deep=False):  # noqa: ANN001 (PyYAML's signature)
            seen: set = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise yaml.YAMLError(f"line {key_node.start_mark.line + 1}: key {shown(key)} appears twice")
                if isinstance(key, (str, int, float, bool)):
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader subclass)
    except RecursionError:
        raise BenchbedError(f"{source}: nested too deeply to be a benchbed file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BenchbedError(f"{source}{where}: not valid YAML ({' '.join(str(problem).split())[:160]})") from None
