"""Runtime models must not pull in pandas or pvlib: a prosumer process imports them on every start."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pvlib", "windpowerlib", "demandlib", "scipy")


def heavy_modules_after(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return [m for m in result.stdout.strip().split(",") if m]


def test_runtime_modules_import_without_pandas_or_pvlib() -> None:
    code = (
        "import domain.solar, domain.wind, domain.load, domain.battery, domain.population, "
        "domain.outages, domain.flexibility, domain.der, domain.profiles, domain.clock"
    )
    assert heavy_modules_after(code) == []


def test_a_der_built_from_a_warm_cache_stays_light(tmp_path: Path) -> None:
    warm = (
        "from domain.profiles import Profiles\n"
        "from domain.load import Sector\n"
        f"p = Profiles({str(tmp_path)!r}, 2025)\n"
        "p.pv(51.3, 9.5, 30.0, 180.0); p.load(Sector.HOUSEHOLD); p.load(Sector.COMMERCIAL)\n"
    )
    assert "pandas" in heavy_modules_after(warm)  # the probe can see a heavy import
    build = (
        "from datetime import datetime, timezone\n"
        "from domain.der import make_der\n"
        "from domain.population import sample_population, Stream\n"
        "from domain.solar import PvSystem\n"
        "from domain.profiles import Profiles\n"
        "from domain.vocabulary import SourceKind\n"
        f"p = Profiles({str(tmp_path)!r}, 2025)\n"
        "pop = sample_population(5, 40)\n"
        "e = next(x for x in pop if x.kind is SourceKind.CONSUMER)\n"
        "der = make_der(e, p)\n"
        "der.step(datetime(2025, 5, 1, tzinfo=timezone.utc), 1.0, e.rng(Stream.RUNTIME))\n"
    )
    assert heavy_modules_after(build) == []
