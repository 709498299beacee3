#!/usr/bin/env python
"""flexsim-wait: wait until what a role needs is there (Swarm and Kubernetes have no `depends_on`).

    flexsim-wait [--timeout S] [--every S] TARGET... [--fetch URL PATH]...

Targets, all waited for in order:
    file:PATH            the file exists (e.g. file:/shared/run.env, written by the deploy step)
    tcp://HOST:PORT      a TCP connection opens (e.g. PostgreSQL)
    rpc:URL              the JSON-RPC at URL answers eth_chainId (e.g. rpc:http://chain:8545)
    http://... https://  a 2xx answer (e.g. http://aggregator:8000/health)
--fetch URL PATH: after the targets, GET URL (retried until a 2xx answer) and write the body to PATH
(atomically; folders made). Kubernetes pods copy the deploy step's manifest and run.env this way.

Exit 0 when everything is there; 1 (saying what was missing and why) after --timeout seconds (600).
The image's entrypoint runs it first when FLEXSIM_WAIT_FOR is set (space-separated targets).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit


class UsageError(Exception):
    """A target this script cannot understand: waiting longer does not help."""


def check(target: str) -> None:
    """Returns when `target` is there; raises OSError or ValueError saying why not."""
    if target.startswith("file:"):
        path = Path(target.removeprefix("file:"))
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist yet")
        return
    if target.startswith("tcp://"):
        url = urlsplit(target)
        if not url.hostname or not url.port:
            raise UsageError(f"{target}: give tcp://HOST:PORT")
        socket.create_connection((url.hostname, url.port), timeout=5).close()
        return
    if target.startswith("rpc:"):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        request = urllib.request.Request(
            target.removeprefix("rpc:"), body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            if "result" not in json.load(reply):
                raise ValueError("no eth_chainId result")
        return
    if target.startswith(("http://", "https://")):
        with urllib.request.urlopen(target, timeout=5) as reply:
            if not 200 <= reply.status < 300:
                raise ValueError(f"HTTP {reply.status}")
        return
    raise UsageError(f"unknown target {target!r}: file:PATH, tcp://HOST:PORT, rpc:URL or http(s)://URL")


def fetch(url: str, path: Path) -> None:
    with urllib.request.urlopen(url, timeout=10) as reply:
        data = reply.read()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flexsim-wait", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds in all (600)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between two tries (2)")
    parser.add_argument("--fetch", nargs=2, action="append", default=[], metavar=("URL", "PATH"))
    args = parser.parse_args(argv)
    steps: list[tuple[str, Callable[[], None]]] = [(t, partial(check, t)) for t in args.targets]
    steps += [(f"{u} -> {p}", partial(fetch, u, Path(p))) for u, p in args.fetch]
    deadline = time.monotonic() + args.timeout
    for name, step in steps:
        said = False
        while True:
            try:
                step()
                break
            except UsageError as exc:
                print(f"flexsim-wait: {exc}", file=sys.stderr)
                return 2
            except (OSError, ValueError) as exc:
                why: Exception = exc
            if time.monotonic() >= deadline:
                print(f"flexsim-wait: gave up after {args.timeout:g} s: {name}: {why}", file=sys.stderr)
                return 1
            if not said:
                print(f"flexsim-wait: waiting for {name} ({why})", file=sys.stderr, flush=True)
                said = True
            time.sleep(args.every)
        print(f"flexsim-wait: {name}: ready", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
