"""The guard below Python: run a command under strace and report native network traffic and stray file writes.

The audit hook in ``sitecustomize`` sees only what Python code does. Native libraries (onnxruntime's 1DS
telemetry client, a C++ HTTP stack, a resolver inside a shared library) call ``connect``/``sendto`` and
``openat`` directly, so the hook never hears of them. strace does: with ``--seccomp-bpf`` the kernel stops
the process only at the traced system calls, so the cost is a few ptrace stops per file opened, not one per
system call. Every child (workers, Ray, abtest's BASE) is followed (``-f``).

A violation is (1) any ``connect``/``sendto``/``sendmsg``/``sendmmsg`` naming an IPv4/IPv6 address off the
loopback range (a DNS query to the resolver is one: that is how the telemetry endpoint was first seen), or
(2) a file or folder created or opened for writing outside the allowed roots (the checkout, the temporary
folders, /dev and /proc: ``tests/conftest.py`` names them) or inside a forbidden one (the user's home).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

NETWORK_CALLS = ("connect", "sendto", "sendmsg", "sendmmsg")
#: Calls that create or open for writing; their first quoted argument is the path.
FILE_CALLS = ("openat", "open", "creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2", "link",
              "linkat", "symlink", "symlinkat")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")

_CALL = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<call>\w+)\((?P<args>.*)")
_INET4 = re.compile(r'sin_addr=inet_addr\("(?P<addr>[^"]+)"\)')
_INET6 = re.compile(r'inet_pton\(AF_INET6,\s*"(?P<addr>[^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((?P<port>\d+)\)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def strace_path() -> str | None:
    return shutil.which("strace")


@dataclass(frozen=True)
class Violation:
    pid: int
    kind: str  # "network" | "file"
    detail: str

    def __str__(self) -> str:
        return f"native {self.kind} from pid {self.pid}: {self.detail}"


def strace_prefix(log: Path) -> list[str]:
    """The command prefix: follow children, stop only at the traced calls, one log for all processes."""
    calls = ",".join(NETWORK_CALLS + FILE_CALLS)
    return [strace_path() or "strace", "-f", "--seccomp-bpf", "-qq", "-s", "256", "-e", f"trace={calls}",
            "-e", "signal=none", "-o", str(log)]


def _off_loopback(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return not (parsed.is_loopback or parsed.is_unspecified)


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    resolved = os.path.normpath(path)
    return any(resolved == root or resolved.startswith(root.rstrip("/") + "/") for root in roots)


def _written_path(call: str, args: str) -> str | None:
    """The path a file call creates or writes, or None when it only reads (or failed to name one)."""
    quoted = _QUOTED.findall(args)
    if not quoted:
        return None
    if call in ("openat", "open"):
        flags = args.split('",', 1)[1] if '",' in args else ""
        return quoted[0] if any(flag in flags for flag in WRITE_FLAGS) else None
    if call in ("rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat"):
        return quoted[-1]  # the new name
    return quoted[0]  # creat, mkdir, mkdirat


def violations(log: Path, allowed_roots: tuple[str, ...], cwd: str,
               forbidden_roots: tuple[str, ...] = ()) -> list[Violation]:
    """Everything in one strace log that left the loopback range or wrote outside the allowed roots.

    ``forbidden_roots`` win over ``allowed_roots`` (the user's home may sit inside the temporary folder).
    """
    found: list[Violation] = []
    if not log.exists():
        return found
    roots = tuple(os.path.normpath(root) for root in allowed_roots)
    forbidden = tuple(os.path.normpath(root) for root in forbidden_roots)
    for line in log.read_text(errors="replace").splitlines():
        match = _CALL.match(line)
        if not match or "= -1 " in line and match["call"] in FILE_CALLS:
            continue  # a refused open wrote nothing
        call, args, pid = match["call"], match["args"], int(match["pid"])
        if call in NETWORK_CALLS:
            for pattern in (_INET4, _INET6):
                for address in pattern.finditer(args):
                    if _off_loopback(address["addr"]):
                        port = _PORT.search(args)
                        found.append(Violation(pid, "network", f"{call} to {address['addr']}"
                                                                f"{':' + port['port'] if port else ''}: {line[:300]}"))
        elif call in FILE_CALLS:
            path = _written_path(call, args)
            if path is None:
                continue
            if not path.startswith("/") and not args.startswith(("AT_FDCWD", '"')):
                continue  # relative to a directory descriptor: where it points is not in the log
            full = path if path.startswith("/") else os.path.join(cwd, path)
            if _inside(full, forbidden) or not _inside(full, roots):
                found.append(Violation(pid, "file", f"{call} writes {full}"))
    return found
