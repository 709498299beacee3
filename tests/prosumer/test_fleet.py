"""The fleet: forked prosumer processes, and `flexsim bench fleet` end to end on a small fleet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from base.errors import ConfigError
from prosumer.fleet import run_fleet
from prosumer.settings import ProsumerSettings


@pytest.mark.parametrize("given", [{"key": "ab" * 32}, {"key_file": "k.key"}])
def test_a_fleet_refuses_one_key_for_all(tmp_path: Path, given: dict[str, str]) -> None:
    settings = ProsumerSettings(_env_file=None, state_dir=tmp_path, **given)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="one key per prosumer"):
        run_fleet(settings, [0, 1])


@pytest.mark.chain
@pytest.mark.slow
def test_the_fleet_benchmark_measures_forked_prosumers() -> None:
    cmd = [
        sys.executable,
        "-m",
        "flexsim.cli",
        "bench",
        "fleet",
        "--json",
        "--prosumers",
        "3",
        "--seconds",
        "4",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["setup"]["prosumers"] == 3 and report["setup"]["fleet_exit_code"] == 0
    readings = report["readings"]
    assert readings["taken"] == 12 and readings["stored"] >= 11 and readings["within_2s"] >= 11
    memory = report["memory_mb"]
    assert 0 < memory["uss"]["max"] < memory["rss"]["max"]
    assert memory["fleet_parent"]["rss"] > 0
    # CPU time comes in clock ticks (10 ms): three prosumers over four seconds may well round to none.
    assert report["cpu"]["prosumers_ms_per_reading"] >= 0
    targets = report["targets"]
    assert set(targets) == {
        "prosumer_processes",
        "uss_mb_max",
        "prosumer_cpu_ms_per_reading",
        "share_within_2s",
    }
    assert targets["prosumer_processes"] == {"measured": 3, "target_min": 3, "met": True}
    assert targets["uss_mb_max"]["target_max"] == 12.0 and "cpus" in report["machine"]
    assert targets["prosumer_cpu_ms_per_reading"]["target_max"] == 1.0


def test_fleet_commands_name_prosumers_of_its_range() -> None:
    from prosumer.fleet import parse_command

    assert parse_command("start 3 4 5\n", {3, 4, 5, 6}) == [3, 4, 5]
    with pytest.raises(ConfigError, match="expected 'start I"):
        parse_command("stop 3", {3})
    with pytest.raises(ConfigError, match="prosumer 9 is outside"):
        parse_command("start 3 9", {3})


def test_a_keys_file_needs_a_key_for_every_prosumer(tmp_path: Path) -> None:
    from prosumer.fleet import load_keys

    path = tmp_path / "keys.json"
    path.write_text(json.dumps(["ab" * 32, "0x" + "cd" * 32]))
    assert load_keys(path, [0, 1]) == {0: "0x" + "ab" * 32, 1: "0x" + "cd" * 32}
    with pytest.raises(ConfigError, match="prosumer 2 needs entry 2"):
        load_keys(path, [1, 2])
    path.write_text('{"0": "x"}')
    with pytest.raises(ConfigError, match="JSON list of hex keys"):
        load_keys(path, [0])


def test_a_fleet_on_command_forks_what_it_is_told_and_stops_at_the_end_of_its_input(tmp_path: Path) -> None:
    """Without a deployment each child stops at once with its own one-line error in its own log; the
    parent records each child's pid and exit code, skips a bad command, and exits when its input ends."""
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(["ab" * 32, "cd" * 32, "ef" * 32]))
    (tmp_path / "logs").mkdir()
    cmd = [
        sys.executable, "-m", "prosumer", "fleet", "--on-command", "--count", "3",
        "--keys-file", str(keys), "--pid-map", str(tmp_path / "pids.json"),
        "--log-dir", str(tmp_path / "logs"), "--manifest", str(tmp_path / "missing.json"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PROSUMER_KEY", "PROSUMER_KEY_FILE")}
    env["PROSUMER_STATE_DIR"] = str(tmp_path / "state")
    fleet = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    assert fleet.stdin is not None and fleet.stderr is not None
    fleet.stdin.write("start 0 1\nbogus\n")
    fleet.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not both_exited(tmp_path / "pids.json"):
        time.sleep(0.1)
    fleet.stdin.close()  # the end of its commands: the parent stops
    stderr = fleet.stderr.read()
    assert fleet.wait(timeout=60) == 1  # its children failed
    assert "fleet command 'bogus'" in stderr and "2 of 2 children failed" in stderr
    pids = json.loads((tmp_path / "pids.json").read_text())
    assert set(pids) == {"0", "1"} and pids["0"]["pid"] != pids["1"]["pid"]
    assert pids["0"]["exit"] == pids["1"]["exit"] == 1
    for i in (0, 1):
        log = (tmp_path / "logs" / f"prosumer-000{i}.log").read_text()
        assert f"prosumer {i}: no deployment manifest" in log
    assert not (tmp_path / "logs" / "prosumer-0002.log").exists()


def both_exited(pid_map: Path) -> bool:
    try:
        pids = json.loads(pid_map.read_text())
    except (OSError, ValueError):
        return False
    return len(pids) == 2 and all(r["exit"] is not None for r in pids.values())


def test_an_add_command_names_a_new_prosumer_its_kind_and_size() -> None:
    from domain.vocabulary import SourceKind
    from prosumer.fleet import parse_add

    c = parse_add("add 7 solar 9000 flex_down_w=1500\n", {0, 1})
    assert (c.index, c.kind, c.capacity_w, c.flex) == (7, SourceKind.SOLAR, 9000.0, {"flex_down_w": 1500})
    with pytest.raises(ConfigError, match="started already"):
        parse_add("add 1 wind 5000", {0, 1})
    with pytest.raises(ConfigError, match="unknown SourceKind"):
        parse_add("add 7 coal 5000", set())
    with pytest.raises(ConfigError, match="unknown term"):
        parse_add("add 7 solar 5000 tariff=3", set())


def test_the_fleet_handler_a_child_replaces_formats_short_and_without_keys(tmp_path: Path) -> None:
    """A child's `signal.signal(SIGTERM, ...)` formats the handler it replaces, the parent's
    `fleet.stop`: its repr must not walk every entry and key (that cost each child 1.3 MB)."""
    import signal

    from domain.profiles import Profiles
    from prosumer.fleet import FleetOptions, _Fleet

    settings = ProsumerSettings(_env_file=None, state_dir=tmp_path)  # type: ignore[call-arg]
    keys = {i: f"{i:064x}" for i in range(50)}
    fleet = _Fleet(settings, FleetOptions(), Profiles(tmp_path), {}, keys, set(keys))
    previous = signal.signal(signal.SIGUSR2, fleet.stop)
    try:
        replaced = signal.signal(signal.SIGUSR2, signal.SIG_DFL)
    finally:
        signal.signal(signal.SIGUSR2, previous)

    assert replaced == fleet.stop
    text = repr(replaced)
    assert len(text) < 200, text
    assert not any(key in text for key in keys.values())
