"""Yearly profiles computed once with pvlib, windpowerlib and demandlib, cached as `.npz`.

This is the only module that touches pvlib, windpowerlib, demandlib or pandas, and it imports them
inside the functions that build a profile: a process that finds its profiles in the cache loads them
with numpy alone. Each profile is stored under a key made of its parameters and `MODEL_VERSION`
(bump it when the computation changes); writes go to a temporary file that is renamed into place, so
concurrent processes never read a half-written file, and an unreadable file is rebuilt.

Profiles (all for one calendar year, UTC, 15-min steps):
- PV: AC power (W) of 1 kWp at (lat, lon, tilt, azimuth) under a clear sky and under an overcast one
  (the clear-sky global irradiance arriving as isotropic diffuse light); instantaneous samples.
  pvlib Ineichen clear sky with the bundled Linke turbidity climatology and altitude map, Hay-Davies
  transposition (albedo 0.2), physical IAM on the beam part, PVsyst cell temperature (u_c 25 W/m2K,
  rear-ventilated roof; assumption) over an air-temperature climatology (annual mean 9 C, seasonal
  amplitude 8.5 K, diurnal 4 K; rounded from DWD normals for central Germany; assumption), PVWatts
  DC (gamma -0.37 %/K, crystalline silicon data sheets), PVWatts losses (~10 %, see below), PVWatts
  inverter with nominal efficiency 0.96 and DC/AC ratio 1.1.
- Load: BDEW 2025 profiles from demandlib (H25 household, dynamised; G25 commercial), in local time
  (Europe/Berlin) with the German nationwide holidays, normalised to 1 kWh/year: W per (kWh/year).
- Wind: windpowerlib's bundled power curves of large turbines, by turbine type.
"""

import calendar
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from domain.errors import ProfileError
from domain.holidays import german_public_holidays
from domain.load import Sector
from domain.solar import PvProfile
from domain.wind import PowerCurve
from domain.year_profile import YearProfile

if TYPE_CHECKING:
    import pandas as pd

MODEL_VERSION = 1
STEP_S = 900.0
PV_GRID_DEG = 0.1
DC_AC_RATIO = 1.1
INVERTER_EFFICIENCY = 0.96
GAMMA_PDC = -0.0037
CELL_U_C = 25.0
ALBEDO = 0.2
LOCAL_TZ = "Europe/Berlin"

Array = npt.NDArray[np.float64]


def default_cache_dir() -> Path:
    """`~/.cache/flexsim/profiles`."""
    return Path.home() / ".cache" / "flexsim" / "profiles"


class Profiles:
    """Cached yearly profiles for one calendar `year`; computed on a cache miss."""

    def __init__(self, cache_dir: Path | str | None = None, year: int = 2025) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.year = year
        self._memo: dict[str, dict[str, Array]] = {}

    def pv(self, lat: float, lon: float, tilt_deg: float, azimuth_deg: float) -> PvProfile:
        """AC power (W) of 1 kWp at this location and orientation, under clear and overcast skies.

        The location is rounded to `PV_GRID_DEG` (about 10 km), where clear-sky output changes by well
        under 1 %, so that neighbouring prosumers share one cached profile.
        """
        lat, lon = round(lat / PV_GRID_DEG) * PV_GRID_DEG, round(lon / PV_GRID_DEG) * PV_GRID_DEG
        key = f"pv_y{self.year}_{lat:.4f}_{lon:.4f}_{tilt_deg:.2f}_{azimuth_deg:.2f}"
        data = self._cached(
            key, lambda: compute_pv(self.year, lat, lon, tilt_deg, azimuth_deg), ("clear", "overcast")
        )
        return PvProfile(
            clear=YearProfile(data["clear"], self.year, STEP_S, hold=False),
            overcast=YearProfile(data["overcast"], self.year, STEP_S, hold=False),
        )

    def load(self, sector: Sector) -> YearProfile:
        """BDEW standard load profile in W per (kWh/year), interval means."""
        key = f"load_y{self.year}_{Sector(sector).value}"
        data = self._cached(key, lambda: {"values": compute_load(self.year, Sector(sector))}, ("values",))
        return YearProfile(data["values"], self.year, STEP_S, hold=True)

    def turbine_curve(self, turbine_type: str) -> PowerCurve:
        """Power curve of a large turbine bundled with windpowerlib (e.g. "E-82/2350")."""
        key = "turbine_" + "".join(c if c.isalnum() else "-" for c in turbine_type)
        data = self._cached(key, lambda: bundled_turbine_curve(turbine_type), ("speeds_ms", "power_w"))
        speeds, power = data["speeds_ms"], data["power_w"]
        return PowerCurve(tuple(map(float, speeds)), tuple(map(float, power)), name=turbine_type)

    def path(self, key: str) -> Path:
        """Cache file of `key`."""
        return self.cache_dir / f"{key}_v{MODEL_VERSION}.npz"

    def _cached(
        self, key: str, build: Callable[[], dict[str, Array]], names: tuple[str, ...]
    ) -> dict[str, Array]:
        if key in self._memo:
            return self._memo[key]
        path = self.path(key)
        data = _read(path)
        if data is None or not all(name in data for name in names):
            data = build()
            _write(path, data)
        self._memo[key] = data
        return data


def _read(path: Path) -> dict[str, Array] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: np.asarray(npz[name], dtype=np.float64) for name in npz.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None  # unreadable or truncated: rebuild and overwrite


def _write(path: Path, data: dict[str, Array]) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **data)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise ProfileError(f"cannot write profile cache {path}: {e}; pass a writable cache_dir") from e


def _times_utc(year: int) -> "pd.DatetimeIndex":
    import pandas as pd

    days = 366 if calendar.isleap(year) else 365
    return pd.date_range(f"{year}-01-01", periods=round(days * 86400 / STEP_S), freq="15min", tz="UTC")


@contextmanager
def _quiet_pandas_deprecations() -> Iterator[None]:
    """pvlib 0.16 and demandlib 0.2.2 call pandas APIs deprecated in pandas 3 (dayofyear, inplace=)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def compute_pv(year: int, lat: float, lon: float, tilt_deg: float, azimuth_deg: float) -> dict[str, Array]:
    """AC power of 1 kWp (W) at 15-min UTC steps of `year` (pvlib; see module docstring).

    "clear": under the clear sky; "overcast": if the same global irradiance arrived as isotropic
    diffuse light (what a fully clouded sky does). `domain.solar` mixes them by the clear-sky index.
    """
    times = _times_utc(year)
    with _quiet_pandas_deprecations():
        clear, overcast, poa_global = _clear_sky_poa(times, lat, lon, tilt_deg, azimuth_deg)
    hours = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
    temp_air = air_temperature(times.day_of_year.to_numpy().astype(np.float64), hours, lon)
    return {
        "clear": _pvwatts_ac(clear, poa_global, temp_air),
        "overcast": _pvwatts_ac(overcast, poa_global, temp_air),
    }


def _pvwatts_ac(effective: Array, poa_global: Array, temp_air: Array) -> Array:
    import pvlib

    temp_cell = pvlib.temperature.pvsyst_cell(poa_global, temp_air, wind_speed=1.0, u_c=CELL_U_C, u_v=0.0)
    dc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, pdc0=1000.0, gamma_pdc=GAMMA_PDC)
    dc = dc * (1.0 - system_losses_percent() / 100.0)
    inverter_pdc0 = 1000.0 / DC_AC_RATIO / INVERTER_EFFICIENCY
    ac = pvlib.inverter.pvwatts(dc, pdc0=inverter_pdc0, eta_inv_nom=INVERTER_EFFICIENCY)
    return np.nan_to_num(np.clip(np.asarray(ac, dtype=np.float64), 0.0, None))


def system_losses_percent() -> float:
    """PVWatts loss model with residential values: about 10 %. PVWatts' 14 % default assumes 3 %
    shading and 3 % availability losses, more than well-kept German rooftop systems show (their
    performance ratios of 0.80-0.85 are reported by Fraunhofer ISE); assumption."""
    import pvlib

    return float(
        pvlib.pvsystem.pvwatts_losses(
            soiling=2,
            shading=1,
            snow=0,
            mismatch=2,
            wiring=2,
            connections=0.5,
            lid=1.5,
            nameplate_rating=1,
            age=0,
            availability=0.5,
        )
    )


def _clear_sky_poa(
    times: "pd.DatetimeIndex", lat: float, lon: float, tilt_deg: float, azimuth_deg: float
) -> tuple[Array, Array, Array]:
    """(clear effective irradiance after IAM, overcast effective irradiance, clear POA global), W/m2."""
    import pvlib

    altitude = pvlib.location.lookup_altitude(lat, lon)
    location = pvlib.location.Location(lat, lon, tz="UTC", altitude=altitude)
    solpos = location.get_solarposition(times)
    clear = location.get_clearsky(times, model="ineichen", solar_position=solpos)
    zenith, azimuth = solpos["apparent_zenith"], solpos["azimuth"]
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        zenith,
        azimuth,
        clear["dni"],
        clear["ghi"],
        clear["dhi"],
        dni_extra=pvlib.irradiance.get_extra_radiation(times),
        model="haydavies",
        albedo=ALBEDO,
    )
    aoi = pvlib.irradiance.aoi(tilt_deg, azimuth_deg, zenith, azimuth).to_numpy()
    direct = np.nan_to_num(poa["poa_direct"].to_numpy(dtype=np.float64))
    diffuse = np.nan_to_num(poa["poa_diffuse"].to_numpy(dtype=np.float64))
    effective = direct * np.asarray(pvlib.iam.physical(aoi), dtype=np.float64) + diffuse
    ghi = np.nan_to_num(clear["ghi"].to_numpy(dtype=np.float64))
    cos_tilt = math.cos(math.radians(tilt_deg))
    overcast = ghi * (0.5 * (1 + cos_tilt) + ALBEDO * 0.5 * (1 - cos_tilt))
    return effective, overcast, np.nan_to_num(poa["poa_global"].to_numpy(dtype=np.float64))


def air_temperature(day_of_year: Array, hour_utc: Array, lon: float) -> Array:
    """Climatological air temperature (C): a seasonal cosine (coldest mid-January) plus a diurnal one
    (warmest at 15 h solar time)."""
    seasonal = 9.0 - 8.5 * np.cos(2 * math.pi * (day_of_year - 15) / 365.0)
    solar_hour = hour_utc + lon / 15.0
    return seasonal + 4.0 * np.cos(2 * math.pi * (solar_hour - 15.0) / 24.0)


def compute_load(year: int, sector: Sector) -> Array:
    """BDEW H25/G25 at 15-min UTC steps of `year`, in W per (kWh/year)."""
    from demandlib import bdew

    local = _times_utc(year).tz_convert(LOCAL_TZ)
    holidays = german_public_holidays(year) + german_public_holidays(year + 1)[:1]
    profile_cls = bdew.H25 if sector is Sector.HOUSEHOLD else bdew.G25
    with _quiet_pandas_deprecations():
        values = np.asarray(profile_cls(local, holidays=holidays).to_numpy(), dtype=np.float64)
    if values.size != len(local) or not np.all(np.isfinite(values)) or values.sum() <= 0:
        raise ProfileError(f"demandlib returned an unusable {sector.value} profile for {year}")
    return values / (values.sum() * STEP_S) * 3.6e6


def bundled_turbine_types() -> list[str]:
    """Turbine types with a power curve in windpowerlib's bundled data."""
    import windpowerlib

    with _quiet_pandas_deprecations():  # windpowerlib 0.2.2 uses dropna(inplace=True)
        table = windpowerlib.get_turbine_types("local", print_out=False, filter_=True)
    return sorted(table.loc[table["has_power_curve"], "turbine_type"].tolist())


def bundled_turbine_curve(turbine_type: str) -> dict[str, Array]:
    """Speeds (m/s) and power (W) of a bundled windpowerlib curve."""
    import windpowerlib

    known = bundled_turbine_types()
    if turbine_type not in known:
        raise ProfileError(
            f"turbine type {turbine_type!r} has no bundled power curve; known: {', '.join(known)}"
        )
    with _quiet_pandas_deprecations():
        curve = windpowerlib.WindTurbine(hub_height=100.0, turbine_type=turbine_type).power_curve
    return {
        "speeds_ms": curve["wind_speed"].to_numpy(dtype=np.float64),
        "power_w": curve["value"].to_numpy(dtype=np.float64),
    }
