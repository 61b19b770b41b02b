"""Loaded by every Python process the tests start (PYTHONPATH): refuse any connection off the loopback range.

benchbed promises to send nothing anywhere, and servers the tests start bind to 127.0.0.1. An audit
hook (PEP 578) sees every ``socket.connect`` and ``socket.getaddrinfo`` before it happens: one that
names an address outside 127.0.0.0/8 / ::1 (or a host name other than localhost) is written to the
file in ``BENCHBED_NETGUARD_LOG`` and refused with an exception. The test session reads that file
after every test, so an attempt swallowed inside a worker process still fails the test that made it.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import traceback

_LOG = os.environ.get("BENCHBED_NETGUARD_LOG")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkGuardError(OSError):
    """Raised instead of reaching a non-loopback address."""


def is_loopback(host) -> bool:
    if host is None or host == "":  # getaddrinfo(None, port): the local wildcard, no traffic
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0]
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name would be resolved, which is itself a query off the machine
    return address.is_loopback or address.is_unspecified


def _address_host(address):
    if isinstance(address, tuple) and address:
        return address[0]
    return None  # AF_UNIX paths, netlink (pid, groups) tuples of ints are handled below


def _hook(event: str, args) -> None:
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect":
        sock, address = args[0], args[1]
        if isinstance(address, (str, bytes)) or getattr(sock, "family", None) not in (2, 10):
            return  # AF_UNIX and other local families
        host = _address_host(address)
    else:
        return
    if is_loopback(host):
        return
    message = f"{event} to {host!r} from pid {os.getpid()} ({' '.join(sys.argv[:3])})"
    if _LOG:
        try:
            with open(_LOG, "a") as log:
                log.write(message + "\n" + "".join(traceback.format_stack(limit=12)) + "\n")
        except OSError:
            pass
    raise NetworkGuardError(f"network guard: {message}")


def install() -> None:
    if not getattr(sys, "_benchbed_netguard", False):
        sys._benchbed_netguard = True  # type: ignore[attr-defined]
        sys.addaudithook(_hook)


if _LOG:
    install()
