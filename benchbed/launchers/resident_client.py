"""The coordinator's handle on one resident worker (``launchers.resident``): start it with a given Python,
send a request, wait for its reply with a timeout, stop it. The worker dies with its parent."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from benchbed.core.errors import BenchbedError
from benchbed.measure.paired import Burst
from benchbed.core.user_files import shown
from benchbed.launchers.process import _die_with_parent
from benchbed.launchers.resident import PROTOCOL

START_TIMEOUT = 120.0  # importing torch/onnxruntime on a cold, busy machine
#: One reply line at most: a burst's samples are a few hundred kB; a BASE that prints without end is no worker.
MAX_REPLY_CHARS = 64 << 20


_TOO_LONG = object()  # the pump's word for a reply line over MAX_REPLY_CHARS


class ResidentError(BenchbedError):
    """The resident worker could not be started, answered with an error, or died."""


class ResidentWorker:
    """One long-lived worker process; ``request`` returns its JSON reply or raises :class:`ResidentError`."""

    def __init__(self, python: str | Path = sys.executable, label: str = "worker", wait: bool = True) -> None:
        """Start the worker; with ``wait`` false its greeting is collected by the first request instead, so
        several workers start at once."""
        self.label = label
        self._stderr = tempfile.TemporaryFile(mode="w+")
        try:
            self._proc = subprocess.Popen(
                [str(python), "-m", "benchbed.launchers.resident"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, text=True, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        except OSError as exc:
            raise ResidentError(f"{label}: cannot start {python}: {exc.strerror or exc}") from None
        self._replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._hello: dict | None = None
        self._send({"op": "hello"})
        if wait:
            _ = self.hello

    @property
    def hello(self) -> dict:
        """The worker's greeting: protocol, benchbed version, Python, pid."""
        if self._hello is None:
            self._hello = {}  # a failed greeting raises below; it is not awaited twice
            hello = self._receive("hello", START_TIMEOUT)
            if hello.get("protocol") != PROTOCOL or not isinstance(hello.get("benchbed"), str):
                self.close()
                raise ResidentError(f"{self.label} did not answer benchbed's protocol (expected protocol {PROTOCOL} "
                                    f"with a version, got {shown(hello, 120)})")
            self._hello = hello
        return self._hello

    def _pump(self) -> None:
        while line := self._proc.stdout.readline(MAX_REPLY_CHARS + 1):
            if len(line) > MAX_REPLY_CHARS:  # an endless line must not fill memory: the worker is done
                self._replies.put(_TOO_LONG)
                self._kill()
                return
            self._replies.put(line)
        self._replies.put(None)  # end of stream: the process exited

    def stderr_tail(self, lines: int = 1) -> str:
        self._stderr.seek(0)
        kept = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
        return " | ".join(kept[-lines:]) or "no output"

    def request(self, message: dict, timeout: float) -> dict:
        _ = self.hello  # replies come in order: the greeting first
        self._send(message)
        return self._receive(message.get("op"), timeout)

    def _send(self, message: dict) -> None:
        try:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise ResidentError(f"{self.label} exited: {self.stderr_tail()}") from None

    def _receive(self, op: str | None, timeout: float) -> dict:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise ResidentError(f"{self.label} did not answer {op!r} within {timeout:g}s") from None
        if line is None:
            self._proc.wait()
            raise ResidentError(f"{self.label} exited (code {self._proc.returncode}): {self.stderr_tail()}")
        if line is _TOO_LONG:
            raise ResidentError(f"{self.label} did not answer benchbed's protocol (a reply line longer than "
                                f"{MAX_REPLY_CHARS:,} characters)")
        try:
            reply = json.loads(line)
        except ValueError:
            self.close()
            raise ResidentError(f"{self.label} did not answer benchbed's protocol (got {shown(line.strip())})") from None
        if not isinstance(reply, dict):
            self.close()
            raise ResidentError(f"{self.label} did not answer benchbed's protocol (got {shown(reply)})")
        if "error" in reply:
            raise ResidentError(f"{self.label}: {reply['error']}")
        return reply

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self._proc.stdin.flush()
                self._proc.wait(timeout=10)
            except (BrokenPipeError, ValueError, subprocess.TimeoutExpired):
                self._kill()
        self._kill_group()  # what the worker started (a BASE's own children) goes with it
        self._stderr.close()

    def _kill(self) -> None:
        self._kill_group()
        with contextlib.suppress(OSError):
            self._proc.kill()
        self._proc.wait()

    def _kill_group(self) -> None:
        """The worker leads its own session (``start_new_session``): its pid is its process group's id."""
        with contextlib.suppress(OSError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def __enter__(self) -> "ResidentWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class ResidentVariant:
    """A variant loaded in a resident worker, as the interleaving coordinator times it."""

    label: str
    worker: ResidentWorker
    info: dict = field(default_factory=dict)  # the load reply: artifact, its sha256, parity, backend details

    @classmethod
    def load(cls, label: str, worker: ResidentWorker, request: dict, timeout: float = 1800.0) -> "ResidentVariant":
        return cls(label, worker, worker.request(request, timeout)["loaded"])

    @classmethod
    def load_all(cls, requests: list[tuple[str, ResidentWorker, dict]], timeout: float = 1800.0
                 ) -> list["ResidentVariant"]:
        """Load every variant at once (each in its own process): nothing is timed yet, so they may share
        the machine, and a comparison's set-up costs its slowest load instead of their sum."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
            futures = [pool.submit(cls.load, label, worker, request, timeout) for label, worker, request in requests]
            return [future.result() for future in futures]

    def burst(self, seconds: float, iterations: int) -> Burst:
        reply = self.worker.request({"op": "burst", "seconds": seconds, "iterations": iterations},
                                    timeout=seconds * 20 + 120)
        return Burst(reply["samples_ms"], reply["seconds"])


class Replicas:
    """One variant loaded in several processes; its bursts take turns between them, so a round's two
    bursts of the variant come from two processes (``analysis.interleave`` explains why)."""

    def __init__(self, label: str, members: list[ResidentVariant]) -> None:
        self.label, self.members, self._turn = label, members, 0

    @property
    def info(self) -> dict:
        return self.members[0].info

    def burst(self, seconds: float, iterations: int) -> Burst:
        member = self.members[self._turn % len(self.members)]
        self._turn += 1
        return member.burst(seconds, iterations)


def abba_start_order(labels: list[str], replicas: int) -> list[tuple[str, int]]:
    """(label, replica) in the order their processes start: replica 0 in order, replica 1 reversed, ..."""
    order = []
    for replica in range(replicas):
        order += [(label, replica) for label in (labels if replica % 2 == 0 else labels[::-1])]
    return order


def start_workers(pythons: dict[str, str | Path], replicas: int, stack: contextlib.ExitStack
                  ) -> dict[tuple[str, int], ResidentWorker]:
    """``replicas`` workers per label, started in ABBA order (closed with ``stack``)."""
    workers = {}
    for label, replica in abba_start_order(list(pythons), replicas):
        name = label if replicas == 1 else f"{label} #{replica + 1}"
        workers[(label, replica)] = stack.enter_context(ResidentWorker(pythons[label], name, wait=False))
    return workers


def load_replicas(workers: dict[tuple[str, int], ResidentWorker], requests: dict[str, dict],
                  replicas: int) -> list[Replicas]:
    """Load every label's request on each of its workers: one replica generation at a time (the first may
    make an artifact the next reuses), each generation's labels at once."""
    loaded: dict[str, list[ResidentVariant]] = {label: [] for label in requests}
    for replica in range(replicas):
        batch = [(label, workers[(label, replica)], request) for label, request in requests.items()]
        for (label, _, _), variant in zip(batch, ResidentVariant.load_all(batch)):
            loaded[label].append(variant)
    return [Replicas(label, members) for label, members in loaded.items()]
