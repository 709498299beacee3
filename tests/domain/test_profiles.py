"""The profile cache: files keyed by parameters, reused across processes, rebuilt when corrupt."""

from pathlib import Path

import numpy as np
import pytest

from domain import profiles as profiles_module
from domain.errors import ProfileError
from domain.load import Sector
from domain.profiles import Profiles, default_cache_dir


def test_profiles_are_written_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Profiles(tmp_path, year=2025).load(Sector.HOUSEHOLD)
    files = list(tmp_path.glob("load_y2025_household_v*.npz"))
    assert len(files) == 1

    def fail(*args: object) -> None:
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(profiles_module, "compute_load", fail)
    second = Profiles(tmp_path, year=2025).load(Sector.HOUSEHOLD)
    assert np.array_equal(first.values, second.values)


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    good = Profiles(tmp_path, year=2025).load(Sector.COMMERCIAL)
    path = Profiles(tmp_path, year=2025).path("load_y2025_commercial")
    path.write_bytes(b"not a zip file")
    again = Profiles(tmp_path, year=2025).load(Sector.COMMERCIAL)
    assert np.array_equal(good.values, again.values)
    assert path.stat().st_size > 1000


def test_nearby_locations_share_one_pv_profile(profiles: Profiles, profile_dir: Path) -> None:
    a = profiles.pv(51.31, 9.52, 30.0, 180.0)
    b = profiles.pv(51.29, 9.48, 30.0, 180.0)
    assert a.clear.values is b.clear.values
    assert len(list(profile_dir.glob("pv_y2025_51.3000_9.5000_30.00_180.00_v*.npz"))) == 1


def test_leap_year_profiles_have_366_days(tmp_path: Path) -> None:
    p = Profiles(tmp_path, year=2024).load(Sector.HOUSEHOLD)
    assert p.values.size == 366 * 96
    assert p.integral() == pytest.approx(3.6e6)


def test_pv_profiles_are_zero_at_night_and_overcast_flattens_orientation(profiles: Profiles) -> None:
    south = profiles.pv(51.3, 9.5, 30.0, 180.0)
    east = profiles.pv(51.3, 9.5, 30.0, 90.0)
    days = south.clear.values.reshape(365, 96)
    assert np.all(days[:, :8] == 0.0) and days.max() < 1000.0 / 1.1 + 1e-6  # inverter clips at AC rating
    assert east.clear.integral() < 0.8 * south.clear.integral()
    assert east.overcast.integral() == pytest.approx(south.overcast.integral(), rel=0.05)


def test_unwritable_cache_dir_raises_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProfileError, match="writable cache_dir"):
        Profiles(blocker / "sub", year=2025).load(Sector.HOUSEHOLD)


def test_default_cache_dir_is_under_the_user_cache() -> None:
    assert default_cache_dir().parts[-3:] == (".cache", "flexsim", "profiles")
