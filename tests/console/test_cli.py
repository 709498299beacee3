"""`flexsim console` and `flexsim run --console` on the command line: bad input is one line, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys


def flexsim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexsim.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_attach_needs_the_services_it_attaches_to() -> None:
    r = flexsim("console", "--attach", "--aggregator-url", "http://127.0.0.1:9")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "flexsim: error: --attach needs --aggregator-url, --rpc-url and --manifest"
    ]


def test_a_weak_console_token_is_refused_before_anything_starts() -> None:
    r = flexsim("console", "--duration", "1", env={"CONSOLE_TOKEN": "short"})
    assert r.returncode == 1
    assert "CONSOLE_TOKEN: must be at least 32 printable ASCII characters" in r.stderr
    assert "starting an embedded anvil" not in r.stderr


def test_the_console_options_are_documented() -> None:
    run = flexsim("run", "--help").stdout
    assert "--console " in run and "--console-port" in run and "--console-host" in run
    console = flexsim("console", "--help").stdout
    for option in ("--speed", "--duration", "--attach", "--console-port", "--scenario"):
        assert option in console
