"""German nationwide public holidays, used to mark BDEW "Feiertag" days in the load profiles.

BDEW standard load profiles treat public holidays like Sundays. Only the nine holidays observed in
every German state are listed (regional ones such as Corpus Christi are not), computed from the
Gregorian Easter date (anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
"""

from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """Date of Western (Gregorian) Easter Sunday in `year`."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def german_public_holidays(year: int) -> list[date]:
    """The nine nationwide German public holidays of `year`, sorted."""
    easter = easter_sunday(year)
    movable = [easter + timedelta(days=n) for n in (-2, 1, 39, 50)]
    fixed = [date(year, m, d) for m, d in ((1, 1), (5, 1), (10, 3), (12, 25), (12, 26))]
    return sorted(fixed + movable)
