"""A description of the machine a benchmark ran on, for its JSON output."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from pydantic import Field

from base.published import Part, absent_when_none


class Machine(Part):
    """The machine a benchmark ran on."""

    hostname: str = Field(description="Its host name.")
    platform: str = Field(description="Operating system and kernel (`platform.platform()`).")
    machine: str = Field(description="CPU architecture.")
    python: str = Field(description="Python version.")
    cpus: int | None = Field(description="Logical CPUs (`os.cpu_count()`).")
    measured_at: str = Field(description="When the benchmark ran (UTC, ISO 8601, seconds).")
    memory_gib: float | None = absent_when_none("Total memory (GiB), where /proc/meminfo tells.")
    cpu_model: str | None = absent_when_none("CPU model, where /proc/cpuinfo tells.")


def machine_info() -> Machine:
    return Machine(
        hostname=platform.node(),
        platform=platform.platform(),
        machine=platform.machine(),
        python=platform.python_version(),
        cpus=os.cpu_count(),
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        memory_gib=_memory_gib(),
        cpu_model=_cpu_model(),
    )


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            total_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(total_kb / 2**20, 1)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
