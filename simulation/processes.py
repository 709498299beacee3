"""The child processes of a run, and the guarantee that none outlives it.

Every child is started through a `ProcessGroup`; leaving the group (normally, on an error, or on
Ctrl-C) sends SIGTERM to every child still running, waits, and SIGKILLs what did not stop, then does
the same to any process those children started that is still alive (a prosumer fleet's forked
children, should their parent have died first). A child's output goes to its own log file in the run
folder.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from contracts.errors import ChainError

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_timeout_s: float | None = None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class ProcessGroup:
    def __init__(self, log_dir: Path, stop_timeout_s: float = 10.0) -> None:
        self.log_dir = log_dir
        self.stop_timeout_s = stop_timeout_s
        self.children: list[Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        name: str,
        module: str,
        env: dict[str, str],
        args: list[str] | None = None,
        stdin_pipe: bool = False,
        stop_timeout_s: float | None = None,
    ) -> Child:
        """Runs `python -m module` with `env` added to this process's environment; with `stdin_pipe`
        its standard input is a pipe the caller writes to (`child.process.stdin`)."""
        log_path = self.log_dir / f"{name}.log"
        out = log_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", module, *(args or [])],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
        )
        out.close()
        child = Child(name, process, log_path, stop_timeout_s)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout_s: float | None = None) -> int | None:
        if child.running:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout=timeout_s or child.stop_timeout_s or self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGTERM; killing it", child.name)
                child.process.kill()
                child.process.wait()
        return child.process.returncode

    def stop_all(self) -> None:
        running = [c for c in self.children if c.running]
        descendants = _descendants([c.process.pid for c in running])
        for c in running:
            c.process.send_signal(signal.SIGTERM)
        start = time.monotonic()
        for c in running:
            deadline = start + (c.stop_timeout_s or self.stop_timeout_s)
            try:
                c.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGTERM; killing it", c.name)
                c.process.kill()
                c.process.wait()
        for c in running:
            if c.process.stdin is not None:
                c.process.stdin.close()
        _stop_strays(descendants, self.stop_timeout_s)

    def pids(self) -> list[int]:
        """The running children's pids (not their own children)."""
        return [c.process.pid for c in self.children if c.running]

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


def _descendants(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            out.extend(psutil.Process(pid).children(recursive=True))
        except psutil.Error:
            continue
    return out


def _stop_strays(procs: list[psutil.Process], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL, the processes of `procs` still alive (their parent is stopped)."""
    alive = [p for p in procs if _alive(p)]
    for p in alive:
        log.warning("process %d (started by a stopped child) is still running; stopping it", p.pid)
        try:
            p.terminate()
        except psutil.Error:
            continue
    _, still = psutil.wait_procs(alive, timeout=timeout_s)
    for p in still:
        try:
            p.kill()
        except psutil.Error:
            continue


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_healthy(url: str, child: Child, timeout_s: float = 60.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not child.running:
            raise ChainError(f"the aggregator exited (code {child.process.returncode}):\n{child.tail()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ChainError(f"the aggregator did not become healthy within {timeout_s:.0f} s:\n{child.tail()}")
