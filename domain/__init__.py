"""Pure DER models for flexsim: physics, population sampling, flexibility rules and the simulation clock.

Nothing in this package does I/O except `domain.profiles`, which reads and writes its `.npz` cache.
Runtime models (`solar`, `wind`, `load`, `battery`, `der`, ...) depend on numpy and the standard library
only, so a prosumer process can import them without pulling in pandas or pvlib.

Sign convention everywhere: power > 0 is delivered to the grid (production), power < 0 is drawn from
the grid (consumption). Powers are in W, energies in Wh, times are timezone-aware UTC datetimes.
"""
